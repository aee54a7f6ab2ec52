"""`python -m colorizer.app ckpt_path=<file>` (or `ckpt_paths=[a,b]`): serve the page."""

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from colorizer.app.session import PhotoColorizer
from colorizer.cli import one_line_errors
from colorizer.config import register_resolvers
from colorizer.device import resolve_device, use_bf16
from colorizer.inference import checkpoint_paths, load_colorizers

log = logging.getLogger(__name__)


register_resolvers()


@hydra.main(version_base="1.3", config_path="../../conf", config_name="app")
def main(cfg: DictConfig) -> None:
    try:
        from colorizer.app.page import build_page, write_examples
    except ImportError as error:
        sys.exit(f"The app needs the optional extra: pip install -e '.[app]' ({error}).")

    device = resolve_device(cfg.device)
    with one_line_errors("colorizer.app", ValueError):  # ValueError: a temperature for a regression net
        models = load_colorizers(checkpoint_paths(cfg.ckpt_path, cfg.ckpt_paths), device, cfg.temperature)
    colorizer = PhotoColorizer(models, device, use_bf16(cfg.precision, device), Path(cfg.paths.cache_dir).expanduser())
    examples_dir = Path(cfg.paths.cache_dir).expanduser() / "app-examples"
    page = build_page(colorizer, write_examples(examples_dir))
    log.info("Serving %d model(s) on http://%s:%d", len(models), cfg.host, cfg.port)
    page.launch(server_name=cfg.host, server_port=cfg.port, allowed_paths=[str(examples_dir)], show_error=False)


if __name__ == "__main__":
    main()
