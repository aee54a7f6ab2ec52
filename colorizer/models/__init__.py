"""Colorization nets (one per file) and their ab heads: plain torch modules, no Lightning
(`colorizer.training.module` trains any of them)."""

from colorizer.models.autoencoder import ConvAutoencoder
from colorizer.models.base import ColorizationNet
from colorizer.models.baselines import GrayBaseline, MeanAbBaseline
from colorizer.models.cae import SkipConnectionAutoencoder
from colorizer.models.discriminator import PatchDiscriminator
from colorizer.models.encoder_unet import EncoderUNet
from colorizer.models.heads import ClassificationHead, RegressionHead
from colorizer.models.outputs import NetOutput
from colorizer.models.unet import UNet
from colorizer.models.vae import ConvVAE

__all__ = [
    "ClassificationHead",
    "PatchDiscriminator",
    "RegressionHead",
    "ColorizationNet",
    "ConvAutoencoder",
    "ConvVAE",
    "EncoderUNet",
    "GrayBaseline",
    "MeanAbBaseline",
    "NetOutput",
    "SkipConnectionAutoencoder",
    "UNet",
]
