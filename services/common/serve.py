"""Run a service's ASGI app under uvicorn: `python -m services.<name>`."""

import asyncio
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from services.common.logging import setup_logging

# A lifespan may yield {STOPPING: asyncio.Event}; the server sets it as soon as it begins to stop.
STOPPING = "stopping"


class Server(uvicorn.Server):
    """uvicorn waits for open responses to end before it runs the lifespan's shutdown, so a
    response that never ends by itself (the desk's event stream) would hold every stop for the
    whole graceful timeout; the app is told at the start of the shutdown instead."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        stopping = self.lifespan.state.get(STOPPING)
        if isinstance(stopping, asyncio.Event):
            stopping.set()
        await super().shutdown(sockets)


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
    Server(config).run()
