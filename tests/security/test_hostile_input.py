"""Hostile input: nesting bombs and oversized bodies get a clear refusal, disguised words are
still found while the stored text stays exactly as sent, and logs hold no text or secret."""

import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx
import numpy as np
import pytest
from redis.asyncio import Redis

from services.common.contract import Verdict
from services.common.http import json_depth
from services.common.logging import JsonFormatter
from services.common.settings import KafkaSettings, RedisSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.moderation.moderator import CacheSettings, Moderator
from services.moderation.policy import LinkAction, Policy, decide
from services.moderation.scoring import LabelScores, Vectors
from services.publisher.settings import PublisherSettings
from tests.conftest import make_comment, unique
from tests.security.desk_app import PASSWORD, add_moderator, client, login, running
from tests.security.tenancy import as_tenant

pytestmark = pytest.mark.kafka
WORDS = Policy(banned_words=["idiot", "stupid"], links=LinkAction.ALLOW)


@pytest.fixture(scope="module")
async def ingest(
    kafka_settings: KafkaSettings, redis_settings: RedisSettings
) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(kafka=kafka_settings, redis=redis_settings, max_request_bytes=300_000)
    app = create_ingest(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as ingest:
            yield ingest


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_is_measured_without_parsing_and_ignores_brackets_in_text() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'["\\"[[[["]') == 1
    assert json_depth(nested(10_000)) == 10_000
    assert json_depth(b'"plain"') == 0


@pytest.mark.parametrize(
    "body",
    [
        nested(10_000),
        b'{"article_id": "a", "author": {"id": "u", "display_name": "x"}, "body": '
        + nested(5_000)
        + b"}",
        b'{"comments": ' + b'{"x": ' * 40 + b"1" + b"}" * 40 + b"}",
    ],
    ids=["10k-arrays", "deep-field", "deep-objects"],
)
async def test_deeply_nested_json_is_refused_before_parsing(
    ingest: httpx.AsyncClient, redis_settings: RedisSettings, body: bytes
) -> None:
    response = await ingest.post(
        "/v1/comments",
        content=body,
        headers={
            **as_tenant(unique("tenant"), redis_settings.url),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body", "message": "JSON nested deeper than 32 levels"}
    ]


async def test_shallow_json_still_gets_field_errors(
    ingest: httpx.AsyncClient, redis_settings: RedisSettings
) -> None:
    payload = {"article_id": "a", "author": {"id": "u", "display_name": "x" * 201}, "body": "hi"}
    response = await ingest.post(
        "/v1/comments", json=payload, headers=as_tenant("t", redis_settings.url)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "author.display_name"


async def test_a_body_streamed_past_the_limit_is_refused_with_413(
    ingest: httpx.AsyncClient, redis_settings: RedisSettings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"article_id": "a", "author": {"id": "u", "display_name": "x"}, "body": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    response = await ingest.post(
        "/v1/comments",
        content=chunks(),
        headers={**as_tenant("t", redis_settings.url), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "larger than 300000 bytes" in response.json()["message"]


DISGUISES = [
    ("You \u0456d\u0456\u043et", "Cyrillic i and o"),
    ("You \u03b9d\u03b9\u03bf\u03c4", "Greek iota, omicron, tau"),
    ("So \u0455t\u057d\u0440\u0456d", "Cyrillic and Armenian"),
    ("You i\u202ed\u202ci\u2066o\u2069t", "bidi controls inside the word"),
    ("You id\u200bio\u2060t", "zero-width space and word joiner"),
    ("You i\u0336d\u0336i\u0336o\u0336t\u0336", "combining strike-through"),
    ("You \uff49\uff44\uff49\uff4f\uff54", "fullwidth"),
    ("You \U0001d422\U0001d41d\U0001d422\U0001d428\U0001d42d", "mathematical bold"),
    ("You 1d10t", "leetspeak"),
]


@pytest.mark.parametrize(("text", "disguise"), DISGUISES, ids=[d for _, d in DISGUISES])
def test_a_disguised_word_is_found_and_reported_on_the_original_text(
    text: str, disguise: str
) -> None:
    verdict, reasons = decide(WORDS, {"toxicity": 0.01}, 0.6, text)
    assert verdict is Verdict.REJECTED, disguise
    (reason,) = reasons
    assert reason.span is not None
    assert reason.span[1] == len(text)  # the whole disguised word, from the original text
    assert text[reason.span[0] :].split()[-1] == text.split(" ", 1)[1]


class QuietEngine:
    """Scores everything harmless: only the word lists decide."""

    name = "quiet"
    model_version = "1"

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        return [{"toxicity": 0.01} for _ in texts]

    def embed(self, texts: Sequence[str]) -> Vectors:
        return np.ones((len(texts), 4), dtype=np.float32)

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        return self.embed(texts)


async def test_matching_never_changes_the_stored_text(redis: Redis) -> None:
    moderator = Moderator(
        redis,
        QuietEngine(),
        WORDS,
        CacheSettings(decision_ttl_seconds=60, score_ttl_seconds=60, embedding_ttl_seconds=60),
    )
    try:
        comments = [make_comment(unique("t"), "a-1", text) for text, _ in DISGUISES]
        decisions = await moderator.moderate(comments)
    finally:
        moderator.close()
    for comment, decision in zip(comments, decisions, strict=True):
        assert decision.verdict is Verdict.REJECTED
        assert decision.comment.body == comment.body  # byte for byte: invisibles, marks, all


@pytest.fixture
def captured() -> Iterator[list[str]]:
    """Every log line of the request cycle, formatted as the services write them, at the
    default level (INFO)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    root = logging.getLogger()
    handler = Collect(logging.INFO)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_logs_hold_no_comment_text_or_secret(
    ingest: httpx.AsyncClient,
    kafka_settings: KafkaSettings,
    redis_settings: RedisSettings,
    redis: Redis,
    captured: list[str],
) -> None:
    secret_text = f"my-private-comment-{unique('text')}"
    tenant = unique("tenant")
    headers = as_tenant(tenant, redis_settings.url)
    api_key = headers["Authorization"].removeprefix("Bearer ")
    comment = {"article_id": "a", "author": {"id": "u", "display_name": "Ann"}}
    accepted = await ingest.post(
        "/v1/comments", json={**comment, "body": secret_text}, headers=headers
    )
    assert accepted.status_code == 202
    refused = await ingest.post(
        "/v1/comments", json={**comment, "body": secret_text, "extra": secret_text}, headers=headers
    )
    assert refused.status_code == 422
    settings = PublisherSettings(kafka=kafka_settings, redis=redis_settings)
    async with running(settings) as app, client(app) as desk:
        username = await add_moderator(redis, [tenant])
        assert (await login(desk, username, "wrong-password-zz9")).status_code == 401
        assert (await login(desk, username)).status_code == 303
        session = desk.cookies["desk_session"]
        assert (await desk.get("/moderate", params={"tenant": tenant})).status_code == 200
        basic = await desk.get(f"/v1/policies/{tenant}", auth=(username, PASSWORD))
        assert basic.status_code == 200
    logged = "\n".join(captured)
    assert logged  # the cycle did log (startup, Kafka), so the check below means something
    for secret in [secret_text, PASSWORD, "wrong-password-zz9", api_key, session]:
        assert secret not in logged, secret
    for line in captured:
        json.loads(line)  # one JSON object a line
