"""modctl tenants and keys against a real Redis: a key shown once, stored hashed, rotated with
a grace period, revoked, expired."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.tenants import KeyState, Scope, TenantStore, digest
from services.modctl.cli import main
from services.modctl.commands.system import DEMO_TENANT, demo_key, print_urls
from tests.conftest import unique

T = TypeVar("T")


def peek(redis_url: str, look: Callable[[Redis], Awaitable[T]]) -> T:
    """Read Redis from a synchronous test (modctl runs its own event loop)."""

    async def run() -> T:
        async with Redis.from_url(redis_url) as redis:
            return await look(redis)

    return asyncio.run(run())


@pytest.fixture
def modctl(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> "Modctl":
    monkeypatch.setenv("REDIS_URL", redis_url)
    return Modctl(capsys)


class Modctl:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str, code: int = 0) -> list[str]:
        assert main(list(argv)) == code
        captured = self.capsys.readouterr()
        return (captured.out + captured.err).strip().splitlines()


def test_key_is_printed_once_alone_on_the_last_line_and_stored_hashed(
    modctl: Modctl, redis_url: str
) -> None:
    tenant = unique("site")
    assert "public feeds" in modctl("tenants", "create", tenant)[-1]
    key = modctl("keys", "create", tenant, "--scopes", "ingest,feed:read")[-1]
    assert key.startswith("mk_")
    assert " " not in key
    assert len(key) > 40

    async def stored(redis: Redis) -> str:
        """Every key name and field value of every stored API key record."""
        parts = [str(k) + str(await redis.hvals(k)) async for k in redis.scan_iter("api-key:*")]
        return "".join(parts)

    assert peek(redis_url, lambda r: r.exists(redis_keys.api_key(digest(key))))
    assert key not in peek(redis_url, stored)
    found = peek(redis_url, lambda r: TenantStore(r).lookup(key))
    assert found is not None
    assert found.tenant == tenant
    assert found.scopes == {Scope.INGEST, Scope.FEED_READ}
    listing = "\n".join(modctl("keys", "list", tenant))
    assert found.key_id in listing
    assert key not in listing
    assert tenant in "\n".join(modctl("tenants", "list"))


def test_rotate_keeps_both_keys_working_for_the_grace_period(
    modctl: Modctl, redis_url: str
) -> None:
    tenant = unique("site")
    modctl("tenants", "create", tenant)
    old = modctl("keys", "create", tenant, "--scopes", "analyze", "--requests-per-minute", "5")[-1]
    new = modctl("keys", "rotate", tenant, "--grace", "24h")[-1]
    old_key = peek(redis_url, lambda r: TenantStore(r).lookup(old))
    new_key = peek(redis_url, lambda r: TenantStore(r).lookup(new))
    assert old_key is not None
    assert new_key is not None
    assert old_key.state() is KeyState.ACTIVE
    assert new_key.state() is KeyState.ACTIVE
    assert old_key.expires_at is not None
    assert 23.9 * 3600 < old_key.expires_at - time.time() <= 24 * 3600
    assert new_key.scopes == {Scope.ANALYZE}
    assert new_key.requests_per_minute == 5
    assert old_key.state(now=old_key.expires_at + 1) is KeyState.EXPIRED
    # Two active keys now: a rotation must name which one.
    assert "name the one" in modctl("keys", "rotate", tenant, code=1)[-1]


def test_revoke_and_expiry(modctl: Modctl, redis_url: str) -> None:
    tenant = unique("site")
    modctl("tenants", "create", tenant, "--private-feeds")
    key = modctl("keys", "create", tenant, "--expires", "30d")[-1]
    record = peek(redis_url, lambda r: TenantStore(r).lookup(key))
    assert record is not None
    assert record.expires_at is not None
    assert record.scopes == set(Scope)
    modctl("keys", "revoke", tenant, record.key_id)
    revoked = peek(redis_url, lambda r: TenantStore(r).lookup(key))
    assert revoked is not None
    assert revoked.state() is KeyState.REVOKED
    tenant_record = peek(redis_url, lambda r: TenantStore(r).tenant(tenant))
    assert tenant_record is not None
    assert tenant_record.private_feeds
    modctl("tenants", "update", tenant, "--public-feeds")
    public = peek(redis_url, lambda r: TenantStore(r).tenant(tenant))
    assert public is not None
    assert not public.private_feeds


def test_bad_input_names_the_problem(modctl: Modctl) -> None:
    assert "no tenant" in modctl("keys", "create", unique("nobody"), code=1)[-1]
    tenant = unique("site")
    modctl("tenants", "create", tenant)
    assert "exists" in modctl("tenants", "create", tenant, code=1)[-1]
    with pytest.raises(SystemExit):
        main(["keys", "create", tenant, "--scopes", "ingest,admin"])
    assert "unknown scope admin" in modctl.capsys.readouterr().err
    assert "no key" in modctl("keys", "revoke", tenant, "abcdef", code=1)[-1]


def test_run_prints_a_demo_key_with_every_scope(modctl: Modctl, redis_url: str) -> None:
    key = demo_key()
    print_urls(key, "demo-password")
    lines = modctl.capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if line.startswith("demo-key")]
    assert line.split()[1] == key
    record = peek(redis_url, lambda r: TenantStore(r).lookup(key))
    assert record is not None
    assert record.tenant == DEMO_TENANT
    assert record.scopes == set(Scope)
    assert any(line.startswith("feed ") and "tenant=demo" in line for line in lines)


def test_update_turns_store_comments_on_and_off(modctl: Modctl, redis_url: str) -> None:
    tenant = unique("site")
    modctl("tenants", "create", tenant, "--private-feeds")
    assert "store-comments on" in modctl("tenants", "update", tenant, "--store-comments", "on")[-1]
    found = peek(redis_url, lambda r: TenantStore(r).tenant(tenant))
    assert found is not None
    assert found.store_comments
    assert found.private_feeds  # a setting not named stays as it was
    (line,) = [line for line in modctl("tenants", "list") if line.startswith(tenant)]
    assert line.split()[1:3] == ["private", "on"]
    modctl("tenants", "update", tenant, "--public-feeds", "--store-comments", "off")
    found = peek(redis_url, lambda r: TenantStore(r).tenant(tenant))
    assert found is not None
    assert not found.store_comments
    assert not found.private_feeds


def test_update_names_what_is_wrong(modctl: Modctl) -> None:
    tenant = unique("site")
    modctl("tenants", "create", tenant)
    assert "--store-comments" in modctl("tenants", "update", tenant, code=1)[-1]
    nobody = unique("nobody")
    assert "no tenant" in modctl("tenants", "update", nobody, "--store-comments", "on", code=1)[-1]
    with pytest.raises(SystemExit):
        main(["tenants", "update", tenant, "--store-comments", "yes"])
    assert "--store-comments: invalid choice: 'yes'" in modctl.capsys.readouterr().err


async def test_store_comments_moves_from_its_old_hash_into_the_tenant_record(
    redis: Redis,
) -> None:
    store = TenantStore(redis)
    on, off, already, orphan = (unique(name) for name in ("on", "off", "already", "orphan"))
    for name in (on, off, already):
        await store.create_tenant(name)
    await store.update_tenant(already, store_comments=False)  # set since: the record wins
    old = {on: "1", off: "0", already: "1", orphan: "1"}
    for name, value in old.items():
        await redis.hset(redis_keys.perspective_tenant(name), "store_comments", value)

    assert await store.migrate_store_comments() == (3, 1)

    found = {name: await store.tenant(name) for name in old}
    assert found[orphan] is None
    assert {name: t.store_comments for name, t in found.items() if t is not None} == {
        on: True,
        off: False,
        already: False,
    }
    assert not await redis.exists(*(redis_keys.perspective_tenant(name) for name in old))
    assert not await redis.exists(redis_keys.tenant(orphan))
    records = [await redis.hgetall(redis_keys.tenant(name)) for name in old]

    assert await store.migrate_store_comments() == (0, 0)
    assert [await redis.hgetall(redis_keys.tenant(name)) for name in old] == records
