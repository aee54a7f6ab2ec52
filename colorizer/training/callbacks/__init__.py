"""Callbacks that Lightning does not ship."""

from colorizer.training.callbacks.image_grid import ImageGridLogger, colorization_grid

__all__ = ["ImageGridLogger", "colorization_grid"]
