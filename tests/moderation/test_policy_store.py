"""Policies in Redis: overrides layered tenant -> section -> article, changes recorded."""

from redis.asyncio import Redis

from services.moderation.policy import Band, Policy, PolicyOverride
from services.moderation.policy_store import (
    TENANT_SCOPE,
    PolicyStore,
    article_scope,
    section_scope,
)


async def test_a_tenant_without_a_stored_policy_gets_the_default(redis: Redis, tenant: str) -> None:
    default = Policy(relevance_floor=0.1)
    document = await PolicyStore(redis, default).document(tenant)
    assert not document.stored
    assert document.effective("sport", "a-1") == default


async def test_article_overrides_section_overrides_tenant(redis: Redis, tenant: str) -> None:
    store = PolicyStore(redis, Policy())
    await store.put(tenant, TENANT_SCOPE, Policy(banned_words=["idiot"]), "ann")
    await store.put(tenant, section_scope("sport"), PolicyOverride(premoderation=True), "ann")
    override = PolicyOverride(premoderation=False, closed=True)
    await store.put(tenant, article_scope("final"), override, "bob")
    document = await store.document(tenant)
    assert document.effective(None, None).banned_words == ["idiot"]
    assert document.effective("sport", "match").premoderation
    final = document.effective("sport", "final")
    assert (final.premoderation, final.closed, final.banned_words) == (False, True, ["idiot"])
    assert not document.effective("news", "match").premoderation


async def test_every_change_is_recorded_with_before_and_after(redis: Redis, tenant: str) -> None:
    store = PolicyStore(redis, Policy())
    first = Policy(thresholds={"toxicity": Band(review=0.4, reject=0.8)})
    await store.put(tenant, TENANT_SCOPE, first, "ann")
    await store.put(tenant, TENANT_SCOPE, Policy(premoderation=True), "bob")
    await store.put(tenant, section_scope("sport"), PolicyOverride(closed=True), "bob")
    await store.put(tenant, section_scope("sport"), None, "ann")
    changes = await store.changes(tenant)
    assert [(c.scope, c.changed_by) for c in changes] == [
        ("section:sport", "ann"),
        ("section:sport", "bob"),
        ("tenant", "bob"),
        ("tenant", "ann"),
    ]
    assert changes[0].before == {"closed": True}
    assert changes[0].after is None
    assert changes[2].before is not None
    assert changes[2].before["thresholds"] == {"toxicity": {"review": 0.4, "reject": 0.8}}
    assert changes[3].before is None
    assert "sport" not in (await store.document(tenant)).sections


async def test_the_cache_serves_briefly_and_a_put_here_clears_it(redis: Redis, tenant: str) -> None:
    reader = PolicyStore(redis, Policy(), cache_seconds=60)
    writer = PolicyStore(redis, Policy())
    assert not (await reader.cached(tenant)).stored
    await writer.put(tenant, TENANT_SCOPE, Policy(premoderation=True), "ann")
    assert not (await reader.cached(tenant)).stored  # another process's change: after the TTL
    await reader.put(tenant, TENANT_SCOPE, Policy(premoderation=True), "ann")
    assert (await reader.cached(tenant)).policy.premoderation
