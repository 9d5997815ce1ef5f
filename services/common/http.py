"""What every service serves besides its own API: /metrics and the two health probes."""

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Check = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_SECONDS = 3.0


def add_operational_routes(app: FastAPI, checks: dict[str, Check]) -> None:
    """`/health/ready` names each dependency that is not usable, so operators know where to look."""

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        results = await asyncio.gather(*(_run(check) for check in checks.values()))
        status = dict(zip(checks, results, strict=True))
        failing = [name for name, ok in status.items() if not ok]
        body = {
            "status": "ok" if not failing else "unavailable",
            "checks": status,
            "failing": failing,
        }
        return JSONResponse(body, status_code=503 if failing else 200)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _run(check: Check) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except Exception:
        return False


def redis_check(redis: Redis) -> Check:
    async def check() -> bool:
        return bool(await redis.ping())

    return check


def field_errors(errors: Sequence[Any], skip: Collection[str] = ()) -> list[dict[str, str]]:
    """Pydantic errors as `{field, message}`: `comments.3.body`, not a tuple with union tags."""
    found = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if str(part) not in skip]
        if loc and loc[0] in {"body", "query", "path", "header"}:
            loc = loc[1:]
        found.append(
            {"field": ".".join(loc) or "body", "message": str(error.get("msg", "invalid"))}
        )
    return found


def invalid_request(errors: list[dict[str, str]]) -> JSONResponse:
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return JSONResponse({"error": "invalid_request", "message": summary, "errors": errors}, 422)


class InvalidRequest(Exception):
    """A request that passed the schema but breaks a configured limit; answered with 422."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def install_error_handlers(app: FastAPI, skip: Collection[str] = ()) -> None:
    """Every 422 has one shape: `{error, message, errors: [{field, message}]}`."""

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, InvalidRequest):
            return invalid_request(exc.errors)
        assert isinstance(exc, RequestValidationError)
        return invalid_request(field_errors(exc.errors(), skip))

    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(InvalidRequest, on_invalid)


class BodySizeLimit:
    """Refuse a request body over `max_bytes` with 413, before more of it is read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = f"request body is larger than {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"error": "payload_too_large", "message": self.message}, 413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            # A body sent without Content-Length is counted as it arrives.
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, detail=self.message)
            return message

        await self.app(scope, limited, send)
