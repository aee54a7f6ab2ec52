"""`python -m colorizer.serve ckpt_path=<file>`: the colorization API (conf/serve.yaml)."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from colorizer.checkpointing import CheckpointError

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../../conf", config_name="serve")
def main(cfg: DictConfig) -> None:
    try:
        from colorizer.serve.server import build_server
    except ImportError as error:
        sys.exit(f"colorizer.serve needs the optional extra: pip install -e '.[serve]' ({error}).")
    try:
        server = build_server(cfg)
    except (CheckpointError, ValueError) as error:
        sys.exit(f"colorizer.serve: {error}")
    log.info("Serving on http://%s:%d (POST /predict, GET /health, GET /info)", cfg.host, cfg.port)
    server.run(
        host=cfg.host,
        port=int(cfg.port),
        generate_client_file=False,
        log_level=cfg.log_level,
        api_server_worker_type="thread",
    )


if __name__ == "__main__":
    main()
