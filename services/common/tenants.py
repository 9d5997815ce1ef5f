"""Tenants (the sites) and their API keys: the key names the tenant, so no request can say
which tenant it is. Only a key's sha256 is stored: keys are random and long (240 bits), so a
fast hash is enough, and a leaked Redis dump holds no usable key."""

import hashlib
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import TypeAdapter, ValidationError
from redis.typing import EncodableT, FieldT

from services.common import redis_keys
from services.common.contract import Identifier
from services.common.redis_client import RedisClient
from services.common.redis_keys import as_text

log = logging.getLogger(__name__)

KEY_PREFIX = "mk_"
KEY_ID_LENGTH = 12  # hex digits of the digest shown in listings and used to revoke
_TENANT_NAME: TypeAdapter[str] = TypeAdapter(Identifier)


class Scope(StrEnum):
    INGEST = "ingest"  # send articles and comments
    FEED_READ = "feed:read"  # read comment status and history, and private feeds
    POLICY_WRITE = "policy:write"  # read and change the policy, read the audit log
    ANALYZE = "analyze"  # the Perspective-compatible API


ALL_SCOPES = frozenset(Scope)


class KeyState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[Scope]:
    """`ingest,feed:read` -> scopes; an unknown name is a ValueError naming it."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in {s.value for s in Scope}]
    if unknown:
        known = ", ".join(s.value for s in Scope)
        raise ValueError(f"unknown scope {', '.join(unknown)} (known: {known})")
    if not names:
        raise ValueError("name at least one scope")
    return frozenset(Scope(n) for n in names)


@dataclass(frozen=True)
class Tenant:
    name: str
    created_at: float
    private_feeds: bool
    # Perspective `analyze` calls with `doNotStore: false` enter the moderation pipeline.
    store_comments: bool = False


@dataclass(frozen=True)
class ApiKey:
    digest: str
    tenant: str
    scopes: frozenset[Scope]
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    requests_per_minute: int | None = None  # None: the service's default

    @property
    def key_id(self) -> str:
        return self.digest[:KEY_ID_LENGTH]

    def state(self, now: float | None = None) -> KeyState:
        now = time.time() if now is None else now
        if self.revoked_at is not None and self.revoked_at <= now:
            return KeyState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyState.EXPIRED
        return KeyState.ACTIVE


class UnknownTenant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no tenant {name!r} (create it with `modctl tenants create {name}`)")


class TenantStore:
    def __init__(self, redis: RedisClient) -> None:
        self.redis = redis

    # Tenants

    async def create_tenant(
        self, name: str, *, private_feeds: bool = False, exist_ok: bool = False
    ) -> Tenant:
        try:
            _TENANT_NAME.validate_python(name)
        except ValidationError as error:
            raise ValueError(f"tenant name {name!r}: letters, digits, . _ : - only") from error
        key = redis_keys.tenant(name)
        created = await self.redis.hsetnx(key, "created_at", str(time.time()))
        if not created and not exist_ok:
            raise ValueError(f"tenant {name!r} exists")
        if created:
            await self.redis.hset(key, "private_feeds", "1" if private_feeds else "0")
            await self.redis.sadd(redis_keys.tenants(), name)
        found = await self.tenant(name)
        assert found is not None
        return found

    async def update_tenant(
        self, name: str, *, private_feeds: bool | None = None, store_comments: bool | None = None
    ) -> Tenant:
        """Change the settings given (None: leave it as it is)."""
        if await self.tenant(name) is None:
            raise UnknownTenant(name)
        settings = {"private_feeds": private_feeds, "store_comments": store_comments}
        changes: dict[FieldT, EncodableT] = {
            k: "1" if v else "0" for k, v in settings.items() if v is not None
        }
        if changes:
            await self.redis.hset(redis_keys.tenant(name), mapping=changes)
        found = await self.tenant(name)
        assert found is not None
        return found

    async def tenant(self, name: str) -> Tenant | None:
        fields = _text(await self.redis.hgetall(redis_keys.tenant(name)))
        if "created_at" not in fields:
            return None
        return Tenant(
            name,
            float(fields["created_at"]),
            private_feeds=fields.get("private_feeds") == "1",
            store_comments=fields.get("store_comments") == "1",
        )

    async def tenants(self) -> list[Tenant]:
        names = sorted(as_text(n) for n in await self.redis.smembers(redis_keys.tenants()))
        found = [await self.tenant(n) for n in names]
        return [t for t in found if t is not None]

    async def migrate_store_comments(self) -> tuple[int, int]:
        """Move `store_comments` from the hashes it used to have of its own
        (`perspective-tenant:{name}`) into the tenant records and delete those hashes; returns
        (moved, dropped). Idempotent: once they are gone there is nothing to move, and a value
        the record already holds (set by `modctl tenants update`) wins over an old one. The
        option of a name with no tenant record is dropped: no key can act for it."""
        moved = dropped = 0
        pattern = redis_keys.PERSPECTIVE_TENANT_PATTERN
        async for key in self.redis.scan_iter(match=pattern, count=1000):
            name = redis_keys.perspective_tenant_name(as_text(key))
            value = await self.redis.hget(key, "store_comments")
            if await self.tenant(name) is None:
                log.warning("dropped store_comments of an unknown tenant", extra={"tenant": name})
                await self.redis.delete(key)
                dropped += 1
                continue
            stored = "1" if value is not None and as_text(value) == "1" else "0"
            # Two slots, so two steps: an interrupted move is finished by the next run.
            await self.redis.hsetnx(redis_keys.tenant(name), "store_comments", stored)
            await self.redis.delete(key)
            moved += 1
        return moved, dropped

    # Keys

    async def create_key(
        self,
        tenant: str,
        scopes: frozenset[Scope] = ALL_SCOPES,
        *,
        expires_at: float | None = None,
        requests_per_minute: int | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key; the key itself is returned once and never stored."""
        if await self.tenant(tenant) is None:
            raise UnknownTenant(tenant)
        if not scopes:
            raise ValueError("a key needs at least one scope")
        key = KEY_PREFIX + secrets.token_urlsafe(30)
        record = ApiKey(
            digest=digest(key),
            tenant=tenant,
            scopes=frozenset(scopes),
            created_at=time.time(),
            expires_at=expires_at,
            requests_per_minute=requests_per_minute,
        )
        fields: dict[FieldT, EncodableT] = {
            "tenant": tenant,
            "scopes": ",".join(sorted(record.scopes)),
            "created_at": str(record.created_at),
        }
        if expires_at is not None:
            fields["expires_at"] = str(expires_at)
        if requests_per_minute is not None:
            fields["requests_per_minute"] = str(requests_per_minute)
        # Two slots, so two steps, listed first: an interrupted create leaves a listed digest
        # with no record (skipped by `keys`), never a working key that `keys` cannot show.
        await self.redis.sadd(redis_keys.tenant_keys(tenant), record.digest)
        await self.redis.hset(redis_keys.api_key(record.digest), mapping=fields)
        return key, record

    async def lookup(self, key: str) -> ApiKey | None:
        """The key's record, whatever its state; None for a key never issued."""
        return await self._record(digest(key))

    async def keys(self, tenant: str) -> list[ApiKey]:
        digests = await self.redis.smembers(redis_keys.tenant_keys(tenant))
        found = [await self._record(as_text(d)) for d in digests]
        return sorted((k for k in found if k is not None), key=lambda k: k.created_at)

    async def find(self, tenant: str, key_id: str) -> ApiKey:
        """The tenant's key whose id (digest prefix, at least 6 digits) is `key_id`."""
        matches = [k for k in await self.keys(tenant) if k.digest.startswith(key_id.lower())]
        if len(key_id) < 6 or len(matches) != 1:
            raise ValueError(f"tenant {tenant!r} has no key {key_id!r} (see `modctl keys list`)")
        return matches[0]

    async def revoke(self, tenant: str, key_id: str) -> ApiKey:
        found = await self.find(tenant, key_id)
        await self.redis.hset(redis_keys.api_key(found.digest), "revoked_at", str(time.time()))
        revoked = await self._record(found.digest)
        assert revoked is not None
        return revoked

    async def rotate(
        self, tenant: str, key_id: str | None, grace_seconds: float
    ) -> tuple[str, ApiKey, ApiKey]:
        """A new key with the old one's scopes and rate; the old one expires after the grace
        period, so both work while clients move over. Without `key_id` the tenant must have
        exactly one active key."""
        if key_id is None:
            active = [k for k in await self.keys(tenant) if k.state() is KeyState.ACTIVE]
            if len(active) != 1:
                raise ValueError(
                    f"tenant {tenant!r} has {len(active)} active keys: name the one to rotate"
                )
            old = active[0]
        else:
            old = await self.find(tenant, key_id)
        if old.state() is not KeyState.ACTIVE:
            raise ValueError(f"key {old.key_id} is {old.state()}: create a new one instead")
        key, new = await self.create_key(
            tenant, old.scopes, requests_per_minute=old.requests_per_minute
        )
        ends = time.time() + grace_seconds
        if old.expires_at is None or old.expires_at > ends:
            await self.redis.hset(redis_keys.api_key(old.digest), "expires_at", str(ends))
        retired = await self._record(old.digest)
        assert retired is not None
        return key, new, retired

    async def _record(self, key_digest: str) -> ApiKey | None:
        fields = _text(await self.redis.hgetall(redis_keys.api_key(key_digest)))
        if "tenant" not in fields:
            return None
        rate = fields.get("requests_per_minute")
        return ApiKey(
            digest=key_digest,
            tenant=fields["tenant"],
            scopes=frozenset(Scope(s) for s in fields.get("scopes", "").split(",") if s),
            created_at=float(fields.get("created_at", "0")),
            expires_at=_float(fields.get("expires_at")),
            revoked_at=_float(fields.get("revoked_at")),
            requests_per_minute=int(rate) if rate else None,
        )


def _text(fields: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {as_text(k): as_text(v) for k, v in fields.items()}


def _float(value: str | None) -> float | None:
    return float(value) if value else None
