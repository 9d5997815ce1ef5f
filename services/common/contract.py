"""The one wire contract: topics, their layout, event models and message keys."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_ID_LENGTH = 128
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)
]


class Topic(StrEnum):
    ARTICLES = "articles"  # compacted, key = tenant/article_id
    COMMENTS_SUBMITTED = "comments.submitted"  # key = comment_id
    COMMENTS_MODERATED = "comments.moderated"  # key = comment_id
    FEED_PUBLISHED = "feed.published"  # key = comment_id
    COMMENTS_DLQ = "comments.dlq"  # original payload + error headers
    FEEDBACK_SUGGESTED = "feedback.suggested"  # key = tenant; scores suggested for retraining


class TopicLayout(BaseModel):
    """How a topic is created: partitions bound how many workers can share it."""

    model_config = ConfigDict(frozen=True)
    partitions: int
    config: dict[str, str] = Field(default_factory=dict)


TOPIC_LAYOUT: dict[Topic, TopicLayout] = {
    Topic.ARTICLES: TopicLayout(partitions=3, config={"cleanup.policy": "compact"}),
    Topic.COMMENTS_SUBMITTED: TopicLayout(partitions=6),
    Topic.COMMENTS_MODERATED: TopicLayout(partitions=6),
    Topic.FEED_PUBLISHED: TopicLayout(partitions=6),
    Topic.COMMENTS_DLQ: TopicLayout(partitions=1, config={"retention.ms": str(30 * 86_400_000)}),
    Topic.FEEDBACK_SUGGESTED: TopicLayout(partitions=3),
}


class ConsumerGroup(StrEnum):
    MODERATION = "moderation"
    MODERATION_ARTICLES = "moderation-articles"
    PUBLISHER = "publisher"
    DLQ_REPLAY = "dlq-replay"  # remembers which dead letters were replayed
    WEBHOOKS_VERDICTS = "webhooks-verdicts"  # comments.moderated -> verdict webhooks
    WEBHOOKS_RELEASES = "webhooks-releases"  # feed.published -> released webhooks


# The one group that dead-letters a topic's unreadable records; the other groups reading the
# topic skip them, so each lands on the dead-letter topic once.
DEAD_LETTER_OWNERS: dict[Topic, ConsumerGroup] = {
    Topic.ARTICLES: ConsumerGroup.MODERATION_ARTICLES,
    Topic.COMMENTS_SUBMITTED: ConsumerGroup.MODERATION,
    Topic.COMMENTS_MODERATED: ConsumerGroup.PUBLISHER,  # webhooks-verdicts skips
    Topic.FEED_PUBLISHED: ConsumerGroup.WEBHOOKS_RELEASES,
}


class Verdict(StrEnum):
    APPROVED = "approved"
    REVIEW = "review"
    REJECTED = "rejected"


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return uuid4().hex


class Event(BaseModel):
    """Immutable; ignores fields added by newer producers (breaking changes bump schema_version)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    schema_version: Literal[1] = 1
    event_id: str = Field(default_factory=new_event_id)


class ArticleUpserted(Event):
    tenant_id: str
    article_id: str
    title: str
    body: str = ""
    url: str | None = None
    section: str | None = None
    language: str = "en"
    published_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utc_now)


class Author(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    id: str
    display_name: str
    is_new: bool = False


class CommentSubmitted(Event):
    tenant_id: str
    article_id: str
    comment_id: str
    parent_id: str | None = None
    author: Author
    body: str
    language: str = "en"
    submitted_at: datetime = Field(default_factory=utc_now)


class Reason(BaseModel):
    """Why a verdict was reached: the rule (`code`), and for score rules the label, score and
    threshold; for word and link rules the matched `span` of the body, so it can be highlighted."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    code: str
    label: str | None = None
    score: float | None = None
    threshold: float | None = None
    detail: str | None = None
    span: tuple[int, int] | None = Field(
        default=None, description="[start, end) of the match in the comment body, in characters"
    )


class Scores(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    toxicity: dict[str, float]
    relevance: float | None = None


SYSTEM_DECIDER = "system"  # `decided_by` of the machine's verdicts; otherwise a moderator


class CommentModerated(Event):
    tenant_id: str
    article_id: str
    comment_id: str
    verdict: Verdict
    reasons: list[Reason] = Field(default_factory=list)
    scores: Scores
    engine: str
    model_version: str
    decided_by: str = SYSTEM_DECIDER
    decided_at: datetime = Field(default_factory=utc_now)
    submitted_at: datetime
    latency_ms: float = Field(description="submitted_at to decided_at, in milliseconds")
    comment: CommentSubmitted = Field(description="the comment as submitted, for the publisher")


class FeedPublished(Event):
    tenant_id: str
    article_id: str
    comment_id: str
    released_at: datetime = Field(default_factory=utc_now)


class FeedbackSuggested(Event):
    """A score a moderator or reader suggests for a text (Perspective's `suggestscore`)."""

    tenant_id: str
    text: str
    scores: dict[str, float] = Field(description="attribute (TOXICITY, ...) -> suggested 0-1")
    languages: list[str] = Field(default_factory=list)
    community_id: str | None = None
    client_token: str | None = None
    suggested_at: datetime = Field(default_factory=utc_now)


def feedback_key(event: FeedbackSuggested) -> bytes:
    """A tenant's suggestions stay in order on one partition."""
    return event.tenant_id.encode()


def message_key(event: CommentSubmitted | CommentModerated | FeedPublished) -> bytes:
    """Every event about one comment lands on one partition, in order."""
    return event.comment_id.encode()


def article_key(event: ArticleUpserted) -> bytes:
    """Compaction keeps the latest version of each tenant's article."""
    return f"{event.tenant_id}/{event.article_id}".encode()
