"""Callbacks that Lightning does not ship."""

from colorizer.training.callbacks.first_step_timer import FirstStepTimer
from colorizer.training.callbacks.image_grid import ImageGridLogger, colorization_grid
from colorizer.training.callbacks.pause_at_step import PauseAtStep
from colorizer.training.callbacks.quality_timer import QualityTimer

__all__ = ["FirstStepTimer", "ImageGridLogger", "PauseAtStep", "QualityTimer", "colorization_grid"]
