"""API keys on HTTP routes: `require(scope)` reads the key, checks it and its rate, and returns
the key, whose `tenant` is the only tenant the request may act for.

An app that uses it calls `install_auth` once (the store and the default rate on `app.state`).
A key may come as `Authorization: Bearer KEY`, an `X-Api-Key` header or `?key=` (as
Perspective's clients send it).
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from redis.exceptions import RedisError

from services.common import redis_keys
from services.common.ratelimit import Rate, TokenBuckets
from services.common.redis_client import RedisClient
from services.common.tenants import ApiKey, KeyState, Scope, TenantStore, digest

log = logging.getLogger(__name__)
KEY_HELP = "send an API key: `Authorization: Bearer KEY`, `X-Api-Key: KEY` or `?key=KEY`"

_bearer = HTTPBearer(auto_error=False, description="an API key from `modctl keys create`")
_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="an API key")
_query = APIKeyQuery(name="key", auto_error=False, description="an API key (Perspective clients)")


class AuthError(Exception):
    """Refused: `code` names the problem (`missing_key`, `wrong_scope`, ...)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or (
            {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else {}
        )


class Auth:
    """What `require` needs, on `app.state.auth`.

    A key found in Redis is remembered for `FRESH_SECONDS` (a revocation takes effect within
    that), and used for up to `STALE_SECONDS` while Redis is unreachable, so a short Redis
    outage does not lock out clients it had seen; the rate limit is not enforced meanwhile.
    """

    FRESH_SECONDS = 5.0
    STALE_SECONDS = 600.0
    MAX_REMEMBERED = 10_000

    def __init__(
        self, tenants: TenantStore, buckets: TokenBuckets, service: str, requests_per_minute: int
    ) -> None:
        self.tenants = tenants
        self.buckets = buckets
        self.service = service  # keys have one request bucket per service
        self.requests_per_minute = requests_per_minute  # for keys without their own rate
        self._seen: dict[str, tuple[float, ApiKey]] = {}

    async def authenticate(self, given: str | None, scope: Scope) -> ApiKey:
        if not given:
            raise AuthError(401, "missing_key", f"the request is missing an API key; {KEY_HELP}")
        key = await self._lookup(given)
        if key is None:
            raise AuthError(401, "unknown_key", "this API key is not valid")
        state = key.state()
        if state is KeyState.REVOKED:
            raise AuthError(401, "revoked_key", "this API key was revoked")
        if state is KeyState.EXPIRED:
            raise AuthError(401, "expired_key", "this API key has expired")
        if scope not in key.scopes:
            raise AuthError(
                403, "wrong_scope", f"this key lacks the {scope.value!r} scope this call needs"
            )
        await self._spend(key)
        return key

    async def _lookup(self, given: str) -> ApiKey | None:
        key_digest = digest(given)
        now = time.monotonic()
        seen = self._seen.get(key_digest)
        if seen and now - seen[0] < self.FRESH_SECONDS:
            return seen[1]
        try:
            found = await self.tenants.lookup(given)
        except RedisError as error:
            if seen and now - seen[0] < self.STALE_SECONDS:
                log.warning(
                    "key store unreachable; using a remembered key", extra={"error": repr(error)}
                )
                return seen[1]
            raise AuthError(
                503,
                "unavailable",
                "the key store is unavailable; retry later",
                {"Retry-After": "5"},
            ) from error
        if found is None:
            self._seen.pop(key_digest, None)
            return None
        if len(self._seen) >= self.MAX_REMEMBERED:
            self._seen.clear()
        self._seen[key_digest] = (now, found)
        return found

    async def _spend(self, key: ApiKey) -> None:
        rate = Rate(key.requests_per_minute or self.requests_per_minute)
        try:
            taken = await self.buckets.take(redis_keys.key_bucket(key.digest, self.service), rate)
        except RedisError as error:
            log.warning("rate limit not checked: Redis unreachable", extra={"error": repr(error)})
            return
        if not taken.allowed:
            raise AuthError(
                429,
                "rate_limited",
                f"more than {rate.per_minute} requests a minute with this key",
                {"Retry-After": str(taken.retry_after_seconds)},
            )


def install_auth(app: FastAPI, redis: RedisClient, service: str, requests_per_minute: int) -> Auth:
    """Keys for the app's routes; refusals answer `{"error": code, "message"}` (an app with
    its own error shape registers its own `AuthError` handler after this)."""
    auth = Auth(TenantStore(redis), TokenBuckets(redis), service, requests_per_minute)
    app.state.auth = auth

    async def on_auth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return auth_error_response(exc)

    app.add_exception_handler(AuthError, on_auth_error)
    return auth


def get_auth(request: Request) -> Auth:
    return request.app.state.auth  # type: ignore[no-any-return]  # starlette State is untyped


def given_key(
    bearer: HTTPAuthorizationCredentials | None, header: str | None, query: str | None
) -> str | None:
    """The key as sent; a Basic `Authorization` is a moderator's, not a key. Two different
    keys in one request are refused: which one acts would be a guess."""
    from_bearer = bearer.credentials if bearer and bearer.scheme.lower() == "bearer" else None
    sent = {k for k in (from_bearer, header, query) if k}
    if len(sent) > 1:
        raise AuthError(401, "conflicting_keys", "the request carries two different API keys")
    return from_bearer or header or query


async def sent_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
    query: Annotated[str | None, Security(_query)],
) -> str | None:
    """A dependency: the key the request carries, unchecked (and documented in the OpenAPI)."""
    return given_key(bearer, header, query)


SentKey = Annotated[str | None, Depends(sent_key)]


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency: the caller's key when it is valid, has `scope` and is within its rate."""

    async def dependency(request: Request, given: SentKey) -> ApiKey:
        return await get_auth(request).authenticate(given, scope)

    return dependency


def optional_key(scope: Scope) -> Callable[..., Awaitable[ApiKey | None]]:
    """Like `require`, but None when no key was sent (public feeds)."""

    async def dependency(request: Request, given: SentKey) -> ApiKey | None:
        return await get_auth(request).authenticate(given, scope) if given else None

    return dependency


def require_tenant(key: ApiKey, tenant: str) -> None:
    """A path naming another tenant than the key's: refused, never served."""
    if tenant != key.tenant:
        raise AuthError(403, "wrong_tenant", f"this key is not a key of tenant {tenant!r}")


def auth_error_response(exc: AuthError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.code, "message": exc.message}, status_code=exc.status, headers=exc.headers
    )
