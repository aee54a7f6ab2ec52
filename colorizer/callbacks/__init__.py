"""Callbacks that Lightning does not ship."""

from colorizer.callbacks.first_step_timer import FirstStepTimer
from colorizer.callbacks.image_grid import ImageGridLogger, colorization_grid
from colorizer.callbacks.pause_at_step import PauseAtStep
from colorizer.callbacks.quality_timer import QualityTimer

__all__ = ["FirstStepTimer", "ImageGridLogger", "PauseAtStep", "QualityTimer", "colorization_grid"]
