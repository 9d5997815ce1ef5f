"""Readers' and platforms' API: released comments per article, and one comment's status."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from services.common.auth import (
    KEY_HELP,
    AuthError,
    get_auth,
    optional_key,
    require,
    require_tenant,
)
from services.common.contract import Identifier, Reason, Scores, Verdict
from services.common.http import InvalidRequest, error_responses
from services.common.redis_client import RedisClient
from services.common.tenants import ApiKey, Scope
from services.publisher.feed import Cursor, read_feed
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentState, CommentViews, verdict_status

router = APIRouter(prefix="/v1", responses=error_responses(401, 403, 413, 422, 429))


class FeedAuthor(BaseModel):
    id: str
    display_name: str


class FeedComment(BaseModel):
    comment_id: str
    parent_id: str | None
    author: FeedAuthor
    body: str
    submitted_at: datetime
    released_at: datetime | None
    scores: Scores


class Feed(BaseModel):
    tenant_id: str
    article_id: str
    comments: list[FeedComment]
    next_cursor: str | None


class CommentStatus(BaseModel):
    tenant_id: str
    article_id: str
    comment_id: str
    status: str
    verdict: Verdict
    reasons: list[Reason]
    scores: Scores
    engine: str
    model_version: str
    decided_by: str
    submitted_at: datetime
    decided_at: datetime
    released_at: datetime | None
    latency_ms: float


def get_views(request: Request) -> CommentViews:
    return request.app.state.views  # type: ignore[no-any-return]  # starlette State is untyped


def get_redis(request: Request) -> RedisClient:
    return request.app.state.redis  # type: ignore[no-any-return]


def get_settings(request: Request) -> PublisherSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def feed_tenant(
    request: Request,
    key: Annotated[ApiKey | None, Depends(optional_key(Scope.FEED_READ))],
    tenant: Annotated[
        Identifier | None, Query(description="the site (public feeds; a key names its own)")
    ] = None,
) -> str:
    """A public feed is read by naming its tenant, so a feed URL works as pasted in a browser;
    a tenant with private feeds needs a key of its own with `feed:read`."""
    if key is not None:
        if tenant is not None:
            require_tenant(key, tenant)
        return key.tenant
    if tenant is None:
        raise AuthError(401, "missing_key", f"name the site with ?tenant=, or {KEY_HELP}")
    found = await get_auth(request).tenants.tenant(tenant)
    if found is None:
        raise HTTPException(404, detail=f"no tenant {tenant!r}")
    if found.private_feeds:
        raise AuthError(
            401, "missing_key", f"tenant {tenant!r} keeps its feeds private: {KEY_HELP}"
        )
    return tenant


async def key_tenant(key: Annotated[ApiKey, Depends(require(Scope.FEED_READ))]) -> str:
    return key.tenant


ViewsDep = Annotated[CommentViews, Depends(get_views)]


@router.get("/articles/{article_id}/comments", response_model=Feed, responses=error_responses(404))
async def article_feed(
    article_id: Annotated[Identifier, Path()],
    tenant: Annotated[str, Depends(feed_tenant)],
    views: ViewsDep,
    redis: Annotated[RedisClient, Depends(get_redis)],
    settings: Annotated[PublisherSettings, Depends(get_settings)],
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> Feed:
    """Released comments, oldest first; pass `next_cursor` back as `cursor` for the next page."""
    try:
        after = Cursor.decode(cursor) if cursor else None
    except ValueError as error:
        raise InvalidRequest([{"field": "cursor", "message": str(error)}]) from error
    page = await read_feed(redis, views, tenant, article_id, after, limit or settings.page_size)
    return Feed(
        tenant_id=tenant,
        article_id=article_id,
        comments=[_feed_comment(s) for s in page.comments],
        next_cursor=page.next_cursor,
    )


@router.get("/comments/{comment_id}", response_model=CommentStatus, responses=error_responses(404))
async def comment_status(
    comment_id: Annotated[Identifier, Path()],
    tenant: Annotated[str, Depends(key_tenant)],
    views: ViewsDep,
) -> CommentStatus:
    """Where a comment stands: released, held for review or rejected, and why."""
    state = await views.state(tenant, comment_id)
    if state is None:
        raise HTTPException(404, detail=f"no verdict for comment {comment_id!r} yet")
    d = state.decision
    return CommentStatus(
        tenant_id=d.tenant_id,
        article_id=d.article_id,
        comment_id=d.comment_id,
        status=verdict_status(state),
        verdict=d.verdict,
        reasons=d.reasons,
        scores=d.scores,
        engine=d.engine,
        model_version=d.model_version,
        decided_by=d.decided_by,
        submitted_at=d.submitted_at,
        decided_at=d.decided_at,
        released_at=state.released_at,
        latency_ms=d.latency_ms,
    )


def _feed_comment(state: CommentState) -> FeedComment:
    comment = state.decision.comment
    return FeedComment(
        comment_id=comment.comment_id,
        parent_id=comment.parent_id,
        author=FeedAuthor(id=comment.author.id, display_name=comment.author.display_name),
        body=comment.body,
        submitted_at=comment.submitted_at,
        released_at=state.released_at,
        scores=state.decision.scores,
    )
