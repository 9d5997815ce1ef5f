"""The whole pipeline as processes: ingest -> Kafka -> moderation -> Kafka -> publisher -> feed."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from services.modctl.seed import comment_id, load_seed, parse_seed
from tests.conftest import unique
from tests.processes import System, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
DEMO = Path(__file__).parents[2] / "examples" / "demo" / "000_c2484b3214b686ee.txt"


def feed(system: System, tenant: str, article_id: str) -> list[dict[str, Any]]:
    url = f"{system.publisher.url}/v1/articles/{article_id}/comments"
    response = httpx.get(url, params={"tenant": tenant, "limit": 500})
    response.raise_for_status()
    return list(response.json()["comments"])


def status(system: System, tenant: str, comment: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{system.publisher.url}/v1/comments/{comment}", headers=system.headers(tenant)
    )
    return dict(response.json()) if response.status_code == 200 else None


def submit(system: System, tenant: str, article_id: str, body: str) -> str:
    payload = {
        "article_id": article_id,
        "author": {"id": "r-1", "display_name": "Reader"},
        "body": body,
    }
    response = httpx.post(
        f"{system.ingest.url}/v1/comments", json=payload, headers=system.headers(tenant)
    )
    assert response.status_code == 202, response.text
    return str(response.json()["accepted"][0])


@pytest.fixture(scope="module")
def demo(system: System) -> tuple[str, str]:
    """The demo article and its comments, loaded as `make run` loads them, under a fresh tenant."""
    tenant = unique("demo")
    article = load_seed(DEMO, system.ingest.url, system.key(tenant))
    return tenant, article.article_id


def test_demo_comments_reach_the_feed_in_order_with_scores(
    system: System, demo: tuple[str, str]
) -> None:
    tenant, article_id = demo
    expected = parse_seed(DEMO.read_text(encoding="utf-8"))
    released = wait_for(
        lambda: (
            feed(system, tenant, article_id) if len(feed(system, tenant, article_id)) >= 9 else None
        ),
        what="nine demo comments in the feed",
    )
    assert [c["comment_id"] for c in released] == [
        comment_id(article_id, c) for c in expected.comments
    ]
    assert [c["author"]["display_name"] for c in released] == [c.author for c in expected.comments]
    for comment in released:
        assert comment["released_at"] is not None
        assert comment["scores"]["relevance"] is not None
        assert 0.0 <= comment["scores"]["toxicity"]["toxicity"] <= 1.0


def test_seeding_twice_releases_each_comment_once(system: System, demo: tuple[str, str]) -> None:
    tenant, article_id = demo
    wait_for(lambda: True if len(feed(system, tenant, article_id)) >= 9 else None, what="demo feed")
    load_seed(DEMO, system.ingest.url, system.key(tenant))
    marker = submit(system, tenant, article_id, "Europe must carry more of its own defence.")
    wait_for(lambda: status(system, tenant, marker), what="the marker's verdict")
    assert len(feed(system, tenant, article_id)) == 10


def test_off_topic_comment_is_held_naming_relevance(system: System, demo: tuple[str, str]) -> None:
    tenant, article_id = demo
    spam = submit(system, tenant, article_id, "Check out my channel for free bitcoin")
    state = wait_for(lambda: status(system, tenant, spam), what="the spam comment's verdict")
    assert state["status"] == "held"
    assert state["verdict"] == "review"
    assert state["reasons"][0]["code"] == "off_topic"
    assert state["reasons"][0]["label"] == "relevance"
    assert state["reasons"][0]["score"] < state["reasons"][0]["threshold"]
    assert spam not in [c["comment_id"] for c in feed(system, tenant, article_id)]


def test_abusive_comment_is_rejected_naming_label_and_score(
    system: System, demo: tuple[str, str]
) -> None:
    tenant, article_id = demo
    abuse = submit(
        system, tenant, article_id, "NATO allies? You are a fucking idiot, shut your stupid mouth"
    )
    state = wait_for(lambda: status(system, tenant, abuse), what="the abusive comment's verdict")
    assert state["verdict"] in {"rejected", "review"}
    reason = state["reasons"][0]
    assert reason["code"] == "toxicity"
    assert reason["label"] == "toxicity"
    assert reason["score"] == state["scores"]["toxicity"]["toxicity"]
    assert reason["score"] >= reason["threshold"]
    assert abuse not in [c["comment_id"] for c in feed(system, tenant, article_id)]


def test_comment_on_unknown_article_is_moderated_unpenalised(system: System) -> None:
    tenant, article_id = unique("t"), unique("unknown")
    comment = submit(system, tenant, article_id, "Check out my channel for free bitcoin")
    state = wait_for(lambda: status(system, tenant, comment), what="a verdict")
    assert state["scores"]["relevance"] is None
    assert state["status"] == "released"
    assert [c["comment_id"] for c in feed(system, tenant, article_id)] == [comment]


def test_unknown_comment_is_404(system: System) -> None:
    url = f"{system.publisher.url}/v1/comments/nope"
    assert httpx.get(url, headers=system.headers(unique("t"))).status_code == 404


def test_every_service_is_ready_and_serves_metrics(system: System) -> None:
    for service in system.all():
        ready = httpx.get(f"{service.url}/health/ready").json()
        assert ready["status"] == "ok", ready
        assert "faststream_" in httpx.get(f"{service.url}/metrics").text
    assert "moderation_verdicts_total" in httpx.get(f"{system.moderation.url}/metrics").text
    assert "comment_release_seconds" in httpx.get(f"{system.publisher.url}/metrics").text
    assert "comments_ingested_total" in httpx.get(f"{system.ingest.url}/metrics").text
