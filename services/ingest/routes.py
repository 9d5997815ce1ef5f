"""The platform-facing API: articles and comments in, events out to Kafka."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from faststream.kafka import KafkaBroker
from redis.exceptions import RedisError

from services.common.articles import ArticleStore
from services.common.auth import require
from services.common.contract import (
    ArticleUpserted,
    Author,
    CommentSubmitted,
    Identifier,
    Topic,
    article_key,
    message_key,
    new_event_id,
)
from services.common.http import InvalidRequest, error_responses
from services.common.tenants import ApiKey, Scope
from services.ingest import metrics
from services.ingest.schemas import (
    Accepted,
    ArticleAccepted,
    ArticleIn,
    CommentBatchIn,
    CommentIn,
    CommentsRequest,
)
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", responses=error_responses(401, 403, 413, 422, 429, 503))


def get_broker(request: Request) -> KafkaBroker:
    return request.app.state.broker  # type: ignore[no-any-return]  # starlette State is untyped


def get_settings(request: Request) -> IngestSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_articles(request: Request) -> ArticleStore:
    return request.app.state.articles  # type: ignore[no-any-return]


async def get_tenant(key: Annotated[ApiKey, Depends(require(Scope.INGEST))]) -> str:
    """The tenant the request acts for: always the key's."""
    return key.tenant


BrokerDep = Annotated[KafkaBroker, Depends(get_broker)]
SettingsDep = Annotated[IngestSettings, Depends(get_settings)]
ArticlesDep = Annotated[ArticleStore, Depends(get_articles)]
TenantDep = Annotated[str, Depends(get_tenant)]


@router.put("/articles/{article_id}", status_code=202, response_model=ArticleAccepted)
async def upsert_article(
    article_id: Annotated[Identifier, Path()],
    article: ArticleIn,
    tenant: TenantDep,
    broker: BrokerDep,
    settings: SettingsDep,
    store: ArticlesDep,
) -> ArticleAccepted:
    """Create or replace an article; comments posted after this answer are scored against it."""
    event = ArticleUpserted(tenant_id=tenant, article_id=article_id, **article.model_dump())
    topic = settings.kafka.topic(Topic.ARTICLES)
    await _publish(settings, broker.publish(event, topic, key=article_key(event)))
    try:  # read-your-writes for the worker; the topic stays the source of truth
        await store.upsert(event)
    except RedisError as error:  # the worker's articles consumer stores it from the topic
        log.warning("article not cached", extra={"tenant": tenant, "error": repr(error)})
    metrics.ARTICLES_INGESTED.labels(tenant=tenant).inc()
    return ArticleAccepted(tenant_id=tenant, article_id=article_id)


@router.post("/comments", status_code=202, response_model=Accepted)
async def submit_comments(
    request_body: Annotated[CommentsRequest, Body()],
    tenant: TenantDep,
    broker: BrokerDep,
    settings: SettingsDep,
) -> Accepted:
    """One comment, or `{"comments": [...]}` for a batch; answered only once Kafka has them all."""
    comments = request_body.comments if isinstance(request_body, CommentBatchIn) else [request_body]
    _check_limits(comments, settings, batch=isinstance(request_body, CommentBatchIn))
    events = [_to_event(tenant, c) for c in comments]
    topic = settings.kafka.topic(Topic.COMMENTS_SUBMITTED)
    await _publish(settings, *(broker.publish(e, topic, key=message_key(e)) for e in events))
    metrics.COMMENTS_INGESTED.labels(tenant=tenant).inc(len(events))
    return Accepted(tenant_id=tenant, accepted=[e.comment_id for e in events])


def _to_event(tenant: str, comment: CommentIn) -> CommentSubmitted:
    return CommentSubmitted(
        tenant_id=tenant,
        article_id=comment.article_id,
        comment_id=comment.comment_id or new_event_id(),
        parent_id=comment.parent_id,
        author=Author(**comment.author.model_dump()),
        body=comment.body,
        language=comment.language,
    )


def _check_limits(comments: list[CommentIn], settings: IngestSettings, *, batch: bool) -> None:
    errors = []
    if len(comments) > settings.max_batch:
        errors.append(
            {"field": "comments", "message": f"at most {settings.max_batch} comments a request"}
        )
    for i, comment in enumerate(comments):
        if len(comment.body) > settings.max_body_chars:
            field = f"comments.{i}.body" if batch else "body"
            errors.append(
                {
                    "field": field,
                    "message": f"{len(comment.body)} characters, at most {settings.max_body_chars}",
                }
            )
    if errors:
        raise InvalidRequest(errors)


async def _publish(settings: IngestSettings, *sends: Awaitable[Any]) -> None:
    """All or an error: a 202 means Kafka acknowledged every event (acks=all)."""
    try:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            await asyncio.gather(*sends)
    except Exception as error:
        metrics.PUBLISH_FAILURES.inc()
        log.warning("kafka did not accept the events", extra={"error": repr(error)})
        raise HTTPException(
            503, detail="the event log is unavailable; retry later", headers={"Retry-After": "5"}
        ) from error
