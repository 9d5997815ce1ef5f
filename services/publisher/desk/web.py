"""Mount the desk on the publisher's app: pages, static files, headers, the decision sender."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from faststream.kafka import KafkaBroker

from services.common.contract import Topic
from services.common.redis_client import RedisClient
from services.common.replication import ReplicaBarrier
from services.publisher.desk import routes
from services.publisher.desk.auth import DeskState, NotSignedIn
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parents[1] / "static"
SEND_INTERVAL_SECONDS = 0.2

# Scripts and styles only from the desk itself, no framing: comment bodies are untrusted.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def install_desk(
    app: FastAPI,
    redis: RedisClient,
    views: CommentViews,
    settings: PublisherSettings,
    barrier: ReplicaBarrier,
) -> DeskState:
    state = DeskState.create(redis, views, settings, barrier)
    app.state.desk = state
    app.include_router(routes.router)
    app.mount("/moderate/static", StaticFiles(directory=STATIC), name="desk-static")

    async def on_not_signed_in(request: Request, exc: Exception) -> Response:
        return routes.login_redirect(request, exc)

    app.add_exception_handler(NotSignedIn, on_not_signed_in)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/moderate"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    return state


async def send_decisions(
    state: DeskState, broker: KafkaBroker, settings: PublisherSettings, stop: asyncio.Event
) -> None:
    """Publish moderator decisions whose undo window has passed, until `stop`."""
    topic = settings.kafka.topic(Topic.COMMENTS_MODERATED)
    while not stop.is_set():
        try:
            await state.pending.send_due(broker, topic, int(time.time() * 1000))
        except Exception:
            log.exception("sending moderator decisions failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SEND_INTERVAL_SECONDS)
