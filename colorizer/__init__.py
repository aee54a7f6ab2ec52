"""colorizer: a Lightning + Hydra framework for automatic colorization of grayscale photographs."""

__version__ = "0.1.0"
