"""Desk sessions: a random token in an HttpOnly cookie, its hash in Redis with a CSRF token."""

import hashlib
import secrets
from datetime import datetime

from pydantic import BaseModel, Field

from services.common import redis_keys
from services.common.contract import utc_now
from services.common.redis_client import RedisClient

COOKIE = "desk_session"
LOGIN_CSRF_COOKIE = "desk_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class Session(BaseModel):
    username: str
    csrf: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    created_at: datetime = Field(default_factory=utc_now)


def _key(token: str) -> str:
    """Only the token's hash is stored: a leaked Redis dump holds no usable session."""
    return redis_keys.session(hashlib.sha256(token.encode()).hexdigest())


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and secrets.compare_digest(str(given), expected)


class SessionStore:
    def __init__(self, redis: RedisClient, ttl_seconds: int) -> None:
        self._redis = redis
        self.ttl_seconds = ttl_seconds

    async def create(self, username: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(username=username)
        index = redis_keys.moderator_sessions(username)
        # Index first (the session and its index may sit in two cluster slots): `end_all` can
        # always find a session that exists.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(index, _key(token))
            pipe.expire(index, self.ttl_seconds)  # outlives every session it lists
            await pipe.execute()
        await self._redis.set(_key(token), session.model_dump_json(), ex=self.ttl_seconds)
        return token, session

    async def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        raw = await self._redis.get(_key(token))
        return Session.model_validate_json(raw) if raw else None

    async def delete(self, token: str | None) -> None:
        if token:
            await self._redis.delete(_key(token))

    async def end_all(self, username: str) -> int:
        return await end_all_sessions(self._redis, username)


async def end_all_sessions(redis: RedisClient, username: str) -> int:
    """Sign the moderator out everywhere: every session of theirs ends now; how many did."""
    index = redis_keys.moderator_sessions(username)
    keys = [redis_keys.as_text(k) for k in await redis.smembers(index)]
    ended = int(await redis.delete(*keys)) if keys else 0
    await redis.delete(index)
    return ended
