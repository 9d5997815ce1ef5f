"""A stream of comments posted like a real client (retrying 503s with the same ids), and the
final count of what became of it."""

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer

from services.common.contract import CommentModerated, FeedPublished, Topic
from services.common.dlq import list_dead_letters
from services.common.settings import KafkaSettings
from services.modctl.testbed.processes import System

PHRASES = [
    "Europe has to carry more of its own defence",
    "the negotiations should include Ukraine at every step",
    "spending targets mean little without a plan",
    "allies were warned about this years ago",
    "a ceasefire without guarantees will not hold",
    "the summit in The Hague will decide a lot",
    "nobody wants another frozen conflict",
    "budgets at 5% of GDP are unrealistic for most members",
]


def comment_text(i: int) -> str:
    rng = random.Random(i)
    return f"{rng.choice(PHRASES).capitalize()}; {rng.choice(PHRASES)} (reader note {i})."


@dataclass
class Stream:
    """Posts `total` comments in batches from a thread, retrying refusals like a client would."""

    system: System
    tenant: str
    article_id: str
    total: int
    batch: int = 50
    ids: list[str] = field(default_factory=list)
    refusals: int = 0
    posted: int = 0
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.ids = [f"{self.article_id}-{n:05d}" for n in range(self.total)]

    def create_article(self) -> None:
        response = httpx.put(
            f"{self.system.ingest.url}/v1/articles/{self.article_id}",
            headers=self.system.headers(self.tenant),
            json={
                "title": "NATO allies and Ukraine's defence",
                "body": "Allies argue over defence spending, Ukraine and a negotiated settlement.",
            },
        )
        response.raise_for_status()

    def post(self, start: int, stop: int) -> None:
        for first in range(start, stop, self.batch):
            chunk = self.ids[first : min(first + self.batch, stop)]
            payload = {
                "comments": [
                    {
                        "article_id": self.article_id,
                        "comment_id": cid,
                        "author": {"id": f"r{int(cid[-5:]) % 50}", "display_name": "Reader"},
                        "body": comment_text(int(cid[-5:])),
                    }
                    for cid in chunk
                ]
            }
            self._post_until_accepted(payload)
            self.posted += len(chunk)

    def _post_until_accepted(self, payload: Mapping[str, object]) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                response = httpx.post(
                    f"{self.system.ingest.url}/v1/comments",
                    json=payload,
                    headers=self.system.headers(self.tenant),
                    timeout=30,
                )
                if response.status_code == 202:
                    return
                assert response.status_code == 503, response.text
                assert response.headers.get("Retry-After")
            except httpx.TransportError:
                pass
            self.refusals += 1
            time.sleep(0.5)  # a client's back-off between retries
        raise AssertionError("ingest did not accept the batch within 180 s")

    def start(self, start: int = 0, stop: int | None = None) -> None:
        self._thread = threading.Thread(target=self.post, args=(start, stop or self.total))
        self._thread.start()

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(timeout=240)


@dataclass
class Tally:
    submitted: int
    verdicts: int
    released: int
    held: int
    rejected: int
    dlq: int
    duplicates: int  # in the feed, plus repeated feed.published announcements
    lost: int
    repeated_announcements: int
    repeated_records: int  # the same event twice: a producer-level retry, not a second publish

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.__dict__.items())


def feed_ids(system: System, tenant: str, article_id: str) -> list[str]:
    ids: list[str] = []
    params: dict[str, str | int] = {"tenant": tenant, "limit": 500}
    while True:
        page = httpx.get(
            f"{system.publisher.url}/v1/articles/{article_id}/comments", params=params, timeout=30
        ).json()
        ids += [c["comment_id"] for c in page["comments"]]
        if not page["next_cursor"]:
            return ids
        params["cursor"] = page["next_cursor"]


def count(stream: Stream, within_seconds: float = 180.0) -> Tally:
    """Wait until every comment has a verdict (or a dead letter), then count everything."""
    system, tenant = stream.system, stream.tenant.encode()
    wanted = set(stream.ids)

    def decided(values: list[bytes]) -> bool:
        return {
            CommentModerated.model_validate_json(v).comment_id for v in values if tenant in v
        } >= wanted

    moderated = asyncio.run(
        read_until(system.kafka, Topic.COMMENTS_MODERATED, decided, within_seconds=within_seconds)
    )
    latest: dict[str, CommentModerated] = {}
    for value in moderated:
        if tenant in value:
            d = CommentModerated.model_validate_json(value)
            if d.comment_id not in wanted:
                continue  # e.g. a probe comment the test sent outside the stream
            if d.comment_id not in latest or d.decided_at >= latest[d.comment_id].decided_at:
                latest[d.comment_id] = d
    verdicts = Counter(d.verdict.value for d in latest.values())
    approved = {cid for cid, d in latest.items() if d.verdict.value == "approved"}

    def announced(values: list[bytes]) -> bool:
        return {
            FeedPublished.model_validate_json(v).comment_id for v in values if tenant in v
        } >= approved

    published = asyncio.run(read_until(system.kafka, Topic.FEED_PUBLISHED, announced))
    announcements = [
        FeedPublished.model_validate_json(v).comment_id for v in published if tenant in v
    ]
    event_ids = [
        e.event_id
        for v in published
        if tenant in v
        if (e := FeedPublished.model_validate_json(v)).comment_id in wanted
    ]
    dead = asyncio.run(list_dead_letters(system.kafka))
    feed = _settled_feed(system, stream.tenant, stream.article_id, len(approved))
    return Tally(
        submitted=len(wanted),
        verdicts=len(latest),
        released=len(set(feed)),
        held=verdicts["review"],
        rejected=verdicts["rejected"],
        dlq=len({(letter.key or b"").decode() for letter in dead} & wanted),
        duplicates=(len(feed) - len(set(feed))) + (len(announcements) - len(set(announcements))),
        lost=len(wanted - set(latest)),
        repeated_announcements=len(announcements) - len(set(announcements)),
        repeated_records=len(event_ids) - len(set(event_ids)),
    )


def _settled_feed(system: System, tenant: str, article_id: str, expected: int) -> list[str]:
    deadline = time.monotonic() + 60
    feed = feed_ids(system, tenant, article_id)
    while len(set(feed)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        feed = feed_ids(system, tenant, article_id)
    return feed


async def read_until(
    settings: KafkaSettings,
    topic: Topic,
    done: Callable[[list[bytes]], bool],
    within_seconds: float = 60.0,
) -> list[bytes]:
    """Every value on the topic (all partitions, from the start) once `done(values)` is true."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    values: list[bytes] = []
    await consumer.start()
    try:
        async with asyncio.timeout(within_seconds):
            while not done(values):
                batches = await consumer.getmany(timeout_ms=200)
                values.extend(r.value or b"" for records in batches.values() for r in records)
    finally:
        await consumer.stop()
    return values
