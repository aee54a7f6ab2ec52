"""Loss terms (one per file) and their weighted composite."""

from colorizer.losses.adversarial import AdversarialLoss
from colorizer.losses.base import LossInputs, LossTerm
from colorizer.losses.classification import RebalancedCrossEntropyLoss
from colorizer.losses.composite import CompositeLoss, LossResult
from colorizer.losses.kl import KLDivergenceLoss
from colorizer.losses.perceptual import PerceptualLoss, PretrainedWeightsError
from colorizer.losses.pixel import CharbonnierLoss, CosineLoss, L1Loss, MSELoss
from colorizer.losses.psnr import PSNRLoss
from colorizer.losses.ssim import SSIMLoss

__all__ = [
    "AdversarialLoss",
    "CharbonnierLoss",
    "CompositeLoss",
    "CosineLoss",
    "KLDivergenceLoss",
    "L1Loss",
    "LossInputs",
    "LossResult",
    "LossTerm",
    "MSELoss",
    "PSNRLoss",
    "PerceptualLoss",
    "PretrainedWeightsError",
    "RebalancedCrossEntropyLoss",
    "SSIMLoss",
]
