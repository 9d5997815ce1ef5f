"""A tenant's adapter: its score, how it changes the policy, its versions in Redis, and the
moderator serving it to that tenant only (real Redis, the real embedded engine)."""

import math

import numpy as np
import pytest
from redis.asyncio import Redis

from services.common.contract import Verdict, utc_now
from services.moderation.adaptation import (
    ADAPTER_MARK,
    SITE_LABEL,
    Adapter,
    AdapterKind,
    label_features,
    shared_model,
)
from services.moderation.adaptation_store import SHARED_MODEL, AdapterStore
from services.moderation.moderator import Moderator
from services.moderation.policy import Band, Policy
from services.moderation.scoring import Engine
from tests.conftest import make_comment, unique

LABELS = ["profanity", "toxicity"]


def adapter(
    tenant: str,
    version: int = 1,
    *,
    weights: list[float] | None = None,
    bias: float = 0.0,
    band: Band | None = None,
    engine: str = "embedded",
    base_model: str = "m-1",
    kind: AdapterKind = AdapterKind.CALIBRATION,
    labels: list[str] = LABELS,
) -> Adapter:
    return Adapter(
        tenant_id=tenant,
        version=version,
        kind=kind,
        engine=engine,
        base_model=base_model,
        labels=labels,
        weights=weights if weights is not None else [2.0, 0.0],
        bias=bias,
        band=band or Band(review=0.5, reject=0.9),
        created_at=utc_now(),
        created_by="test",
    )


def test_the_site_score_is_the_logistic_of_the_weighted_label_logits() -> None:
    fitted = adapter("t", weights=[2.0, 0.5], bias=-1.0)
    # Profanity is read as its share of toxicity (0.24 / 0.3 = 0.8); insult is not read.
    scores = {"profanity": 0.24, "toxicity": 0.3, "insult": 0.99}
    logit = 2.0 * math.log(0.8 / 0.2) + 0.5 * math.log(0.3 / 0.7) - 1.0
    assert fitted.score(scores, None) == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-5)
    assert fitted.score({"profanity": 0.9}, None) > fitted.score({"profanity": 0.1}, None)
    # The kind of toxicity, whatever how toxic: the same share is the same feature.
    mild = label_features({"profanity": 0.05, "toxicity": 0.1}, LABELS)
    strong = label_features({"profanity": 0.4, "toxicity": 0.8}, LABELS)
    assert mild[0] == pytest.approx(strong[0])
    assert mild[1] < strong[1]
    assert list(label_features({"toxicity": 0.5}, LABELS)) == [0.0, 0.0]  # missing reads 0.5


def test_a_head_reads_the_embedding_and_refuses_to_score_without_it() -> None:
    head = adapter("t", kind=AdapterKind.HEAD, weights=[0.0, 0.0, 3.0, -3.0])
    toward, away = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    scores = {"profanity": 0.5, "toxicity": 0.5}
    assert head.score(scores, toward) > 0.9 > 0.1 > head.score(scores, away)
    with pytest.raises(ValueError, match="embedding"):
        head.score(scores, None)
    with pytest.raises(ValueError, match="weights"):
        adapter("t", weights=[1.0, 2.0, 3.0])  # a calibration has one weight per label


def test_its_band_replaces_the_label_thresholds_and_nothing_else() -> None:
    policy = Policy(banned_words=["spam"], thresholds={"toxicity": Band(review=0.1, reject=0.2)})
    fitted = adapter("t", band=Band(review=0.4, reject=0.8)).policy(policy)
    assert fitted.thresholds == {SITE_LABEL: Band(review=0.4, reject=0.8)}
    assert fitted.banned_words == ["spam"]


def test_the_served_version_names_the_shared_model_and_the_adapter() -> None:
    fitted = adapter("news-a", 3, base_model="all-MiniLM-L6-v2@0.1.0+minilm-tox-1")
    assert fitted.served_version == f"all-MiniLM-L6-v2@0.1.0+minilm-tox-1{ADAPTER_MARK}news-a.3"
    assert shared_model(fitted.served_version) == "all-MiniLM-L6-v2@0.1.0+minilm-tox-1"
    assert (
        shared_model("all-MiniLM-L6-v2@0.1.0+minilm-tox-1") == "all-MiniLM-L6-v2@0.1.0+minilm-tox-1"
    )


async def test_versions_serve_list_and_roll_back(redis: Redis) -> None:
    tenant = unique("tenant")
    store = AdapterStore(redis, cache_seconds=0)
    assert await store.serving(tenant) is None
    for _ in range(2):
        await store.serve(adapter(tenant, await store.next_version(tenant)))
    assert [a.version for a in await store.versions(tenant)] == [1, 2]
    assert (await store.serving(tenant)).version == 2  # type: ignore[union-attr]

    assert (await store.rollback(tenant)).version == 1  # type: ignore[union-attr]
    assert await store.rollback(tenant) is None  # before version 1: the shared model
    assert (await store.rollback(tenant, to=2)).version == 2  # type: ignore[union-attr]
    assert await store.rollback(tenant, to=SHARED_MODEL) is None
    with pytest.raises(ValueError, match="no adapter version 7"):
        await store.rollback(tenant, to=7)
    assert await store.next_version(tenant) == 3  # numbers are never handed out twice


async def test_an_adapter_fitted_on_another_model_is_not_applied(redis: Redis) -> None:
    tenant = unique("tenant")
    store = AdapterStore(redis, cache_seconds=0)
    await store.serve(adapter(tenant, base_model="m-old"))
    assert await store.cached(tenant, "embedded", "m-new") is None
    assert await store.cached(tenant, "detoxify", "m-old") is None
    assert await store.cached(tenant, "embedded", "m-old") is not None


async def test_the_moderator_serves_a_tenants_adapter_to_that_tenant_only(
    redis: Redis, moderator: Moderator, engine: Engine
) -> None:
    adapted, other = unique("tenant"), unique("tenant")
    # Removes what the shared model finds toxic at all: a strict site.
    strict = adapter(
        adapted,
        labels=["toxicity"],
        weights=[1.0],
        bias=6.0,
        band=Band(review=0.5, reject=1.0),
        base_model=engine.model_version,
    )
    await moderator.adapters.serve(strict)
    body = "I think the council got this one wrong, frankly."
    (mine,) = await moderator.moderate([make_comment(adapted, unique("a"), body)])
    (theirs,) = await moderator.moderate([make_comment(other, unique("a"), body)])

    assert theirs.verdict is Verdict.APPROVED
    assert theirs.model_version == engine.model_version
    assert SITE_LABEL not in theirs.scores.toxicity
    assert mine.model_version == strict.served_version
    site = mine.scores.toxicity[SITE_LABEL]
    assert site == pytest.approx(strict.score(theirs.scores.toxicity, None), abs=1e-5)
    assert site >= 0.5
    assert mine.verdict is Verdict.REVIEW
    assert (mine.reasons[0].code, mine.reasons[0].label) == ("toxicity", SITE_LABEL)
