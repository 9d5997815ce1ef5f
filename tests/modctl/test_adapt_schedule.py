"""`modctl adapt --new-decisions N`: the schedule runs adaptation for a tenant only once N new
moderator decisions came in since it last ran (real Redis)."""

import asyncio

import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.contract import Verdict
from services.common.tenants import TenantStore
from services.modctl.cli import main
from services.moderation.adaptation_store import AdapterStore
from tests.conftest import unique
from tests.publisher.test_views import verdict


def decide(redis_url: str, tenant: str, count: int) -> None:
    """`count` moderator rejections in the tenant's decisions view."""

    async def add() -> None:
        async with Redis.from_url(redis_url) as redis:
            await TenantStore(redis).create_tenant(tenant, exist_ok=True)
            for _ in range(count):
                event = verdict(tenant, "a-1", Verdict.REJECTED, decided_by="ann")
                stamp = event.decided_at.timestamp()
                await redis.zadd(redis_keys.decisions(tenant), {event.model_dump_json(): stamp})

    asyncio.run(add())


def attempted(redis_url: str, tenant: str) -> int:
    async def read() -> int:
        async with Redis.from_url(redis_url) as redis:
            return await AdapterStore(redis).attempted(tenant)

    return asyncio.run(read())


def test_a_tenant_is_adapted_again_only_after_n_new_decisions(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    tenant = unique("tenant")
    decide(redis_url, tenant, 3)
    assert main(["adapt", tenant, "--new-decisions", "5"]) == 0
    assert "3 new moderator decisions since adaptation last ran, fewer than 5: skipped" in (
        capsys.readouterr().out
    )
    assert attempted(redis_url, tenant) == 0

    decide(redis_url, tenant, 2)
    assert main(["adapt", tenant, "--new-decisions", "5"]) == 1  # ran: too few to fit
    out = capsys.readouterr().out
    assert "nothing changed: 5 decisions; at least 40 are needed" in out
    assert attempted(redis_url, tenant) == 5

    decide(redis_url, tenant, 4)
    assert main(["adapt", "--all", "--new-decisions", "5"]) == 0
    assert f"tenant {tenant!r}: 4 new moderator decisions" in capsys.readouterr().out


def test_one_tenant_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adapt"]) == 1
    assert "tenant: name one tenant, or give --all" in capsys.readouterr().err
    assert main(["adapt", "news", "--all"]) == 1
