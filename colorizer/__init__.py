"""colorizer: a Lightning + Hydra framework for automatic colorization of grayscale photographs."""

from omegaconf import OmegaConf

from colorizer.config import default_cache_dir
from colorizer.data.defaults import register_config_defaults

__version__ = "0.1.0"

# `${first:${oc.select:resume,null},outputs/...}`: the run folder is `resume` when given (oc.select
# alone returns a null value rather than its default). Registered here so every entry point has it.
OmegaConf.register_new_resolver("first", lambda chosen, default: default if chosen is None else chosen, replace=True)
# `${default_cache_dir:}` in conf/paths: one definition of the cache folder for the config and the code.
OmegaConf.register_new_resolver("default_cache_dir", lambda: str(default_cache_dir()), replace=True)
register_config_defaults()
