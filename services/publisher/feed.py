"""Reading an article's feed: released comments, oldest first, a page at a time."""

import base64
import binascii
from dataclasses import dataclass

from services.common import redis_keys
from services.common.redis_client import RedisClient
from services.publisher.views import CommentState, CommentViews

# Comments submitted in the same microsecond share a score; a page reads a few extra to skip them.
_TIE_ALLOWANCE = 32


@dataclass(frozen=True)
class Cursor:
    """The last comment of the previous page: its score and id."""

    score: int
    comment_id: str

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.score}:{self.comment_id}".encode()).decode()

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        try:
            score, _, comment_id = base64.urlsafe_b64decode(raw.encode()).decode().partition(":")
            return cls(int(score), comment_id)
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise ValueError("not a cursor this service issued") from error


@dataclass(frozen=True)
class FeedPage:
    comments: list[CommentState]
    next_cursor: str | None


async def read_feed(
    redis: RedisClient,
    views: CommentViews,
    tenant: str,
    article_id: str,
    cursor: Cursor | None,
    limit: int,
) -> FeedPage:
    key = redis_keys.feed(tenant, article_id)
    low = cursor.score if cursor else "-inf"
    rows: list[tuple[bytes, float]] = await redis.zrange(  # type: ignore[assignment]
        key, low, "+inf", byscore=True, offset=0, num=limit + 1 + _TIE_ALLOWANCE, withscores=True
    )
    entries = [(m.decode(), int(s)) for m, s in rows]
    if cursor:
        entries = [
            (m, s)
            for m, s in entries
            if s > cursor.score or (s == cursor.score and m > cursor.comment_id)
        ]
    page, more = entries[:limit], len(entries) > limit
    states = await views.states(tenant, [m for m, _ in page])
    next_cursor = Cursor(page[-1][1], page[-1][0]).encode() if more and page else None
    return FeedPage([s for s in states if s is not None], next_cursor)
