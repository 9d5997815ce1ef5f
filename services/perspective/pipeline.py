"""An analyzed comment into the moderation pipeline (`doNotStore: false`, tenant opted in):
`context.entries` become its article, then the comment goes to comments.submitted."""

import asyncio
import hashlib
import logging
import re
from uuid import uuid4

from faststream.kafka import KafkaBroker

from services.common.articles import ArticleStore
from services.common.contract import (
    ID_PATTERN,
    MAX_ID_LENGTH,
    ArticleUpserted,
    Author,
    CommentSubmitted,
    Topic,
    article_key,
    message_key,
)
from services.perspective.schemas import AnalyzeRequest
from services.perspective.settings import PerspectiveSettings

log = logging.getLogger(__name__)
NO_ARTICLE = "perspective"  # comments without context: an article the worker never penalises
TITLE_CHARS = 200


def comment_id(client_token: str | None) -> str:
    """The client's token when it is a valid id (so a retried call is one comment), a digest of
    it otherwise, and a new id without one."""
    if client_token and len(client_token) <= MAX_ID_LENGTH and re.match(ID_PATTERN, client_token):
        return client_token
    if client_token:
        return "perspective-" + hashlib.sha256(client_token.encode()).hexdigest()[:32]
    return f"perspective-{uuid4().hex}"


def article(tenant: str, context: list[str], language: str) -> ArticleUpserted | None:
    if not context:
        return None
    text = "\n\n".join(context)
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return ArticleUpserted(
        tenant_id=tenant,
        article_id=f"perspective-{digest}",
        title=context[0][:TITLE_CHARS],
        body=text,
        language=language,
    )


async def submit(
    broker: KafkaBroker,
    articles: ArticleStore,
    settings: PerspectiveSettings,
    tenant: str,
    body: AnalyzeRequest,
    text: str,
    context: list[str],
    language: str,
) -> None:
    """Best effort, like Perspective's own storage: a Kafka outage never fails the analyze call."""
    upserted = article(tenant, context, language)
    event = CommentSubmitted(
        tenant_id=tenant,
        article_id=upserted.article_id if upserted else NO_ARTICLE,
        comment_id=comment_id(body.client_token),
        author=Author(id=body.community_id or "perspective-api", display_name="Perspective API"),
        body=text,
        language=language,
    )
    try:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            if upserted is not None:
                # Stored as ingest stores articles, so the comment is scored against it at once.
                await articles.upsert(upserted)
                topic = settings.kafka.topic(Topic.ARTICLES)
                await broker.publish(upserted, topic, key=article_key(upserted))
            topic = settings.kafka.topic(Topic.COMMENTS_SUBMITTED)
            await broker.publish(event, topic, key=message_key(event))
    except Exception as error:
        log.warning("analyzed comment not submitted", extra={"error": repr(error)})
