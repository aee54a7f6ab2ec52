"""Colorization nets (one per file) and the LightningModule that trains any of them."""

from colorizer.models.autoencoder import ConvAutoencoder
from colorizer.models.base import ColorizationNet
from colorizer.models.baselines import GrayBaseline, MeanAbBaseline
from colorizer.models.cae import SkipConnectionAutoencoder
from colorizer.models.discriminator import PatchDiscriminator
from colorizer.models.encoder_unet import EncoderUNet
from colorizer.models.heads import ClassificationHead, RegressionHead
from colorizer.models.module import ColorizationModule
from colorizer.models.outputs import AbClasses, NetOutput
from colorizer.models.unet import UNet
from colorizer.models.vae import ConvVAE

__all__ = [
    "AbClasses",
    "ClassificationHead",
    "PatchDiscriminator",
    "RegressionHead",
    "ColorizationModule",
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
