"""colorizer: a Lightning + Hydra framework for automatic colorization of grayscale photographs.

Importing it changes nothing: each entry point registers the config resolvers it composes with
(`colorizer.config.register_resolvers`)."""

__version__ = "0.1.0"
