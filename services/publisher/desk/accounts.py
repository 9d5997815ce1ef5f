"""Moderator accounts in Redis: argon2 password hashes, the tenants each may work on."""

import asyncio
import contextlib
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field
from redis.exceptions import WatchError

from services.common import redis_keys
from services.common.contract import Identifier, utc_now
from services.common.redis_client import RedisClient

MIN_PASSWORD_LENGTH = 8
# argon2id with argon2-cffi's current recommended cost (RFC 9106's low-memory profile). When
# these change, a stored hash made with the old cost is replaced at the next good sign-in.
HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not-a-password")


class Account(BaseModel):
    username: Identifier
    display_name: str
    tenants: list[Identifier] = Field(min_length=1)
    admin: bool = False  # may change the tenants' policies
    password_hash: str
    created_at: datetime = Field(default_factory=utc_now)

    def may_work_on(self, tenant: str) -> bool:
        return tenant in self.tenants


class AccountStore:
    def __init__(self, redis: RedisClient, hasher: PasswordHasher = HASHER) -> None:
        self._redis = redis
        self._hasher = hasher

    async def add(
        self,
        username: str,
        password: str,
        tenants: list[str],
        *,
        admin: bool = False,
        display_name: str | None = None,
        replace: bool = False,
    ) -> Account:
        """Create the account; an existing one is only replaced with `replace`."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
        account = Account(
            username=username,
            display_name=display_name or username,
            tenants=tenants,
            admin=admin,
            password_hash=await asyncio.to_thread(self._hasher.hash, password),
        )
        key = redis_keys.moderator(username)
        created = await self._redis.set(key, account.model_dump_json(), nx=not replace)
        if not created:
            raise ValueError(f"moderator {username!r} exists (use --replace to reset it)")
        await self._redis.sadd(redis_keys.moderators(), username)
        return account

    async def get(self, username: str) -> Account | None:
        raw = await self._redis.get(redis_keys.moderator(username))
        return Account.model_validate_json(raw) if raw else None

    async def verify(self, username: str, password: str) -> Account | None:
        """The account when the password is right; hashing runs off the event loop. A hash
        made with other parameters than today's is replaced by one made with them."""
        account = await self.get(username)
        stored = account.password_hash if account else _DUMMY_HASH
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is not None and self._hasher.check_needs_rehash(stored):
            account = await self._rehash(account, password)
        return account

    async def _rehash(self, account: Account, password: str) -> Account:
        fresh = await asyncio.to_thread(self._hasher.hash, password)
        updated = account.model_copy(update={"password_hash": fresh})
        # Only if nobody changed the account meanwhile (a reset password must not be undone).
        key = redis_keys.moderator(account.username)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            current = await pipe.get(key)
            unchanged = current and Account.model_validate_json(current) == account
            if unchanged:
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                pipe.set(key, updated.model_dump_json())
                with contextlib.suppress(WatchError):  # changed meanwhile: keep that change
                    await pipe.execute()
        return updated

    async def all(self) -> list[Account]:
        members = await self._redis.smembers(redis_keys.moderators())
        names = sorted(redis_keys.as_text(n) for n in members)
        found = [await self.get(name) for name in names]
        return [a for a in found if a is not None]

    async def remove(self, username: str) -> bool:
        await self._redis.srem(redis_keys.moderators(), username)
        return bool(await self._redis.delete(redis_keys.moderator(username)))
