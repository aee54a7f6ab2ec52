"""colorizer: a Lightning + Hydra framework for automatic colorization of grayscale photographs."""

from omegaconf import OmegaConf

from colorizer.data.defaults import register_config_defaults

__version__ = "0.1.0"

# `${first:${oc.select:resume,null},outputs/...}`: the run folder is `resume` when given (oc.select
# alone returns a null value rather than its default). Registered here so every entry point has it.
OmegaConf.register_new_resolver("first", lambda chosen, default: default if chosen is None else chosen, replace=True)
register_config_defaults()
