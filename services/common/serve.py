"""Run a service's ASGI app under uvicorn: `python -m services.<name>`."""

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from services.common.logging import setup_logging


def serve(name: str, create_app: Callable[[], FastAPI], host: str, port: int, level: str) -> None:
    setup_logging(name, level)
    config = uvicorn.Config(
        create_app,
        factory=True,
        host=host,
        port=port,
        log_config=None,  # keep our JSON logging
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    uvicorn.Server(config).run()
