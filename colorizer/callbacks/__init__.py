"""Callbacks that Lightning does not ship."""

from colorizer.callbacks.first_step_timer import FirstStepTimer
from colorizer.callbacks.image_grid import ImageGridLogger, colorization_grid
from colorizer.callbacks.quality_timer import QualityTimer

__all__ = ["FirstStepTimer", "ImageGridLogger", "QualityTimer", "colorization_grid"]
