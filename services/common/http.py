"""What every service serves besides its own API: /metrics and the two health probes."""

import asyncio
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.redis_client import RedisClient

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


def redis_check(redis: RedisClient) -> Check:
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


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error the services answer: `detail` (refusals), or `error` and `message` with
    `errors` naming each field at fault (422)."""

    detail: Any = None
    error: str | None = None
    message: str | None = None
    errors: list[FieldError] | None = None


_MEANINGS = {
    400: "Malformed request",
    401: "No or wrong credentials",
    403: "Not allowed for this caller or tenant",
    404: "Not found",
    413: "Request body over the size limit",
    422: "Invalid field (each named in `errors`), or JSON nested too deeply",
    429: "Too many requests; see Retry-After",
    503: "A dependency (Kafka, Redis) is unavailable; see Retry-After",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors a route can answer, so clients (and the fuzz tests)
    find every status they may get documented."""
    return {code: {"model": ErrorBody, "description": _MEANINGS[code]} for code in codes}


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


class PayloadTooLarge(HTTPException):
    """A body that outgrew the limit while it was read (sent without Content-Length)."""


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
        refusal = JSONResponse({"error": "payload_too_large", "message": self.message}, 413)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await refusal(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            # A body sent without Content-Length is counted as it arrives.
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise PayloadTooLarge(413, detail=self.message)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except PayloadTooLarge:
            # Read by a middleware rather than a route: no handler turned it into a response.
            if started:
                raise
            await refusal(scope, receive, send)


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in `body`, found without parsing it: strings are
    cut out first so brackets inside text don't count. Linear in the size, no recursion."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def refuse_body(message: str) -> Response:
    return invalid_request([{"field": "body", "message": message}])


class JsonDepthLimit:
    """Refuse a JSON body nested deeper than `max_depth` before it is parsed: the parser
    recurses per level, so 10,000 nested arrays would otherwise cost a RecursionError (a 500).
    A body that is not UTF-8 is refused here too, with the same clear answer."""

    def __init__(
        self,
        app: ASGIApp,
        max_depth: int = MAX_JSON_DEPTH,
        respond: Callable[[str], Response] = refuse_body,
    ) -> None:
        self.app = app
        self.max_depth = max_depth
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        if scope["type"] != "http" or b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        # The body is read whole here; BodySizeLimit, outside this, bounds it.
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = None
        if not _is_utf8(body):
            problem = "not UTF-8 text (JSON bodies must be UTF-8)"
        elif json_depth(body) > self.max_depth:
            problem = f"JSON nested deeper than {self.max_depth} levels"
        if problem:
            await self.respond(problem)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
