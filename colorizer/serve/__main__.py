"""`python -m colorizer.serve ckpt_path=<file>`: the colorization API (conf/serve.yaml)."""

import logging
import signal
import sys
from types import FrameType

import hydra
import torch
from omegaconf import DictConfig

from colorizer.cli import one_line_errors
from colorizer.config import register_resolvers

log = logging.getLogger(__name__)


register_resolvers()


@hydra.main(version_base="1.3", config_path="../../conf", config_name="serve")
def main(cfg: DictConfig) -> None:
    try:
        from colorizer.serve.server import build_server
    except ImportError as error:
        sys.exit(f"colorizer.serve needs the optional extra: pip install -e '.[serve]' ({error}).")
    # Each of the API server's threads decodes or encodes one request: one torch thread each, so
    # that they do not fight each other and the worker (its own process) for the cores.
    torch.set_num_threads(1)
    with one_line_errors("colorizer.serve", ValueError):  # ValueError: LitServe's checks of host and port
        server = build_server(cfg)

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("%s: finishing the requests in flight, then stopping.", signal.Signals(signum).name)
            server.stop()

        # SIGTERM (a supervisor, `docker stop`, `kill`) and Ctrl+C stop the server whole. Python's
        # default for SIGTERM would end this process alone and leave the workers and manager running.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("Serving on http://%s:%d (POST /predict, GET /health, GET /info)", cfg.host, cfg.port)
        try:
            # A thread, not LitServe's default forked process: forked, it hung in torch's thread pool.
            server.run(
                host=cfg.host,
                port=int(cfg.port),
                generate_client_file=False,
                log_level=cfg.log_level,
                api_server_worker_type="thread",
            )
        except EOFError:  # LitServe's monitor stopped everything, its manager included, under run()'s wait
            log.error("An inference worker died, so the server stopped: start it again. See the log above.")
            raise SystemExit(1) from None
        log.info("Stopped: the port is closed and every worker has exited.")


if __name__ == "__main__":
    main()
