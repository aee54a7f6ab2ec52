"""Callbacks that Lightning does not ship."""

from colorizer.callbacks.first_step_timer import FirstStepTimer
from colorizer.callbacks.image_grid import ImageGridLogger, colorization_grid

__all__ = ["FirstStepTimer", "ImageGridLogger", "colorization_grid"]
