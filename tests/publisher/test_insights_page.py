"""The per-day verdict view against a real Redis (counted once, waits of held comments, rebuilt
by replay), and the insights page on an in-process publisher with real Kafka and Redis: machine
verdicts consumed from comments.moderated, moderator verdicts made on the desk and published
there, the figures shown to the tenant's moderators and refused to anyone else."""

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from services.common.contract import CommentModerated, Reason, Topic, Verdict, message_key, utc_now
from services.common.settings import KafkaSettings, RedisSettings
from services.publisher.daily import DailyView, day_of
from services.publisher.desk.decisions import Action, human_verdict
from services.publisher.rebuild import rebuild_views
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews
from tests.conftest import unique
from tests.kafka_helpers import produce
from tests.publisher.test_views import verdict
from tests.security.desk_app import add_moderator, client, running, sign_in
from tests.webhooks.helpers import eventually

ADAPTED = "minilm-tox-20261203+news-a.3"
OFF_TOPIC = Reason(code="off_topic", label="relevance", score=0.1, threshold=0.19)


async def apply_all(redis: Redis, events: list[CommentModerated]) -> list[object]:
    views, daily = CommentViews(redis), DailyView(redis)
    recorded: list[object] = []
    for event in events:
        await views.apply(event, released_at=event.decided_at)
        recorded.append(await daily.record(event))
    return recorded


async def test_a_comment_counts_once_a_day_and_a_held_ones_wait_ends_at_its_first_verdict(
    redis: Redis, tenant: str
) -> None:
    held = verdict(tenant, "a", Verdict.REVIEW).model_copy(update={"model_version": ADAPTED})
    approved = verdict(tenant, "a")
    released = human_verdict(held, Action.APPROVE, "ann", held.decided_at + timedelta(seconds=90))
    taken_down = human_verdict(
        released, Action.REJECT, "bo", released.decided_at + timedelta(hours=2), "violence"
    )
    events = [held, approved, released, taken_down]
    first = await apply_all(redis, events)
    again = await apply_all(redis, events)  # redelivered: nothing more
    assert [(r.counted, r.waited_seconds) for r in first] == [  # type: ignore[attr-defined]
        (True, None),
        (True, None),
        (False, 90.0),
        (False, None),  # a take-down after a moderator's verdict is no wait of the queue
    ]
    assert all(not r.counted and r.waited_seconds is None for r in again)  # type: ignore[attr-defined]

    today, wait_day = day_of(held.decided_at), day_of(released.decided_at)
    daily = DailyView(redis)
    before = await daily.days(tenant, today, wait_day)
    (counts,) = await daily.days(tenant, today, today)
    assert (counts.comments, counts.held, counts.verdicts["approved"]) == (2, 1, 1)
    assert counts.models == {ADAPTED: 1, "test": 1}
    assert (await daily.days(tenant, wait_day, wait_day))[0].waits == [90.0]

    # A view like the others: from nothing, the same verdicts give the same days.
    keys = [k async for k in redis.scan_iter(f"*{tenant}*")]
    await redis.delete(*keys)
    assert (await daily.days(tenant, today, today))[0].comments == 0
    await apply_all(redis, events)
    assert await daily.days(tenant, today, wait_day) == before


@pytest.fixture(scope="module")
async def app(
    kafka_settings: KafkaSettings, redis_settings: RedisSettings
) -> AsyncIterator[FastAPI]:
    settings = PublisherSettings(
        kafka=kafka_settings,
        redis=redis_settings,
        desk_undo_seconds=0.0,
        insights_drift_points=20.0,
    )
    async with running(settings) as app:
        yield app


async def publish(kafka: KafkaSettings, events: list[CommentModerated]) -> None:
    records = [(message_key(e), e.model_dump_json().encode()) for e in events]
    await produce(kafka, Topic.COMMENTS_MODERATED, records)


async def page_when(desk: httpx.AsyncClient, tenant: str, *needles: str) -> httpx.Response:
    """The insights page over 14 days once it shows every one of `needles` (the publisher
    applies verdicts as it reads them)."""

    async def check() -> httpx.Response | None:
        response = await desk.get("/moderate/insights", params={"tenant": tenant, "days": 14})
        assert response.status_code == 200, response.text
        text = html.unescape(response.text)
        return response if all(n in text for n in needles) else None

    return await eventually(check, what=f"{needles!r} on the insights page")


@pytest.mark.kafka
async def test_the_page_shows_the_tenants_figures_to_its_moderators_only(
    app: FastAPI, redis: Redis, kafka_settings: KafkaSettings
) -> None:
    tenant = unique("site")
    now = utc_now()
    # Last week the machine held none of 4 comments; this week 2 of 4, served by an adaptation.
    last_week = [
        verdict(tenant, "a").model_copy(update={"decided_at": now - timedelta(days=8)})
        for _ in range(4)
    ]
    held = [
        verdict(tenant, "a", Verdict.REVIEW).model_copy(
            update={"reasons": [OFF_TOPIC], "model_version": ADAPTED}
        )
        for _ in range(2)
    ]
    approved = [verdict(tenant, "a").model_copy(update={"model_version": ADAPTED}) for _ in "ab"]
    await publish(kafka_settings, [*last_week, *held, *approved])

    username = await add_moderator(redis, [tenant])
    async with client(app) as desk:
        csrf = await sign_in(desk, username, tenant)
        page = await page_when(
            desk,
            tenant,
            "50%</span> held of 4 comments in the last 7 days",
            "0%</span> held of 4 comments in the 7 days before",
        )
        assert "+50.0</span> percentage points" in page.text
        assert 'class="drift-warning" role="alert"' in page.text  # 50 points, past the 20 set
        assert ADAPTED in page.text

        # The moderator overrules one hold and agrees with the other, on the desk.
        for comment, action, category in (
            (held[0], "approve", None),
            (held[1], "reject", "scams_and_fraud"),
        ):
            response = await desk.post(
                "/moderate/decide",
                json={"tenant": tenant, "comment_ids": [comment.comment_id], "action": action,
                      "category": category},
                headers={"x-csrf-token": csrf},
            )  # fmt: skip
            assert response.status_code == 202, response.text
        page = await page_when(desk, tenant, "1 of 2 verdicts overruled the machine (50%)")

    text = html.unescape(page.text)
    svgs = re.findall(r"<svg class=\"chart\".*?</svg>", page.text, flags=re.S)
    # Overall, off_topic's own, held queue, waits, and a histogram per label (toxicity, relevance).
    assert len(svgs) == 6
    assert "off topic" in text
    agreement = svgs[0]
    assert len(re.findall(r'<rect class="bar overruled"', agreement)) == 1  # days with verdicts
    assert "1 of 2 verdicts overruled the machine (50%)" in text
    held_chart = svgs[2]
    # A bar for each day with verdicts: last week's (none held, drawn as a sliver) and today's.
    heights = re.findall(r'class="bar held" [^>]*height="([0-9.]+)"', held_chart)
    assert len(heights) == 2
    assert float(heights[0]) == 1.0
    assert float(heights[1]) > 1.0
    assert "2 of 4 comments held" in text
    assert "2 held comments decided" in text
    assert re.search(r"<td>relevance</td><td>2</td><td>1</td><td>50%</td>", text)
    assert "1 approved, 1 rejected" in text  # the score histograms' counts

    # Another tenant's moderator, nobody signed in, and a bad range are all refused.
    elsewhere = unique("other")
    stranger = await add_moderator(redis, [elsewhere])
    async with client(app) as other:
        await sign_in(other, stranger, elsewhere)
        refused = await other.get("/moderate/insights", params={"tenant": tenant})
        assert refused.status_code == 403
        assert tenant in refused.text
    async with client(app) as anonymous:
        response = await anonymous.get("/moderate/insights", params={"tenant": tenant})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/moderate/login")
    async with client(app) as desk:
        await sign_in(desk, username, tenant)
        for bad in ("abc", "0", "1000"):
            response = await desk.get("/moderate/insights", params={"tenant": tenant, "days": bad})
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == "days"


@pytest.mark.kafka
async def test_modctl_feed_rebuild_restores_the_days_from_the_topic(
    redis: Redis, kafka_settings: KafkaSettings
) -> None:
    tenant = unique("site")
    held = verdict(tenant, "a", Verdict.REVIEW).model_copy(update={"model_version": ADAPTED})
    decided = human_verdict(held, Action.REJECT, "ann", held.decided_at + timedelta(minutes=5))
    await publish(kafka_settings, [held, verdict(tenant, "a"), decided])
    day, wait_day = day_of(held.decided_at), day_of(decided.decided_at)
    daily = DailyView(redis)

    await rebuild_views(kafka_settings, redis)
    found = await daily.days(tenant, day, wait_day)
    assert (found[0].comments, found[0].held, found[0].models) == (2, 1, {ADAPTED: 1, "test": 1})
    assert found[-1].waits == [300.0]
    await rebuild_views(kafka_settings, redis)  # into a live Redis: nothing changes
    assert await daily.days(tenant, day, wait_day) == found

    await redis.delete(*[k async for k in redis.scan_iter(f"*{tenant}*")])
    await rebuild_views(kafka_settings, redis)
    assert await daily.days(tenant, day, wait_day) == found
