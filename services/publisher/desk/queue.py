"""What the desk shows: a queue page with its items, and one item with its history around it."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.common import redis_keys
from services.common.articles import ArticleStore
from services.common.contract import ArticleUpserted, CommentModerated, Reason, Verdict, utc_now
from services.common.redis_client import RedisClient
from services.moderation.policy import Policy
from services.publisher.views import CommentState, CommentViews

# Filters look at this many items of a queue; deeper queues are worked from the front.
SCAN_LIMIT = 1000


class Queue(StrEnum):
    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"


class Sort(StrEnum):
    OLDEST = "oldest"
    NEWEST = "newest"
    SEVERITY = "severity"


def queue_key(tenant: str, queue: Queue) -> str:
    if queue is Queue.HELD:
        return redis_keys.review(tenant)
    verdict = Verdict.APPROVED if queue is Queue.APPROVED else Verdict.REJECTED
    return redis_keys.queue(tenant, verdict)


@dataclass(frozen=True)
class Segment:
    """A run of the comment body; `reason` set where a rule matched it."""

    text: str
    reason: Reason | None = None


@dataclass(frozen=True)
class AuthorStats:
    approved: int = 0
    review: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class Item:
    state: CommentState
    article: ArticleUpserted | None
    author: AuthorStats
    segments: list[Segment]
    severity: float

    @property
    def decision(self) -> CommentModerated:
        return self.state.decision

    @property
    def waited_seconds(self) -> float:
        return max((utc_now() - self.decision.submitted_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class QueuePage:
    items: list[Item]
    counts: dict[Queue, int]
    matching: int  # items in this queue that pass the filters (within SCAN_LIMIT)
    articles: list[tuple[str, str]] = field(default_factory=list)  # (id, title) in the queue
    sections: list[str] = field(default_factory=list)


def segments(body: str, reasons: Sequence[Reason]) -> list[Segment]:
    """The body cut at the reasons' spans (first reason wins an overlap), for highlighting."""
    marks = sorted(
        (r for r in reasons if r.span and 0 <= r.span[0] < r.span[1] <= len(body)),
        key=lambda r: r.span or (0, 0),
    )
    found: list[Segment] = []
    at = 0
    for reason in marks:
        assert reason.span is not None
        start, end = reason.span
        if start < at:
            continue
        if start > at:
            found.append(Segment(body[at:start]))
        found.append(Segment(body[start:end], reason))
        at = end
    if at < len(body) or not found:
        found.append(Segment(body[at:]))
    return found


def severity(decision: CommentModerated) -> float:
    """Strongest signal first: banned words, then the highest score against its threshold."""
    rank = 0.0
    for reason in decision.reasons:
        if reason.code == "banned_word":
            rank = max(rank, 3.0)
        elif reason.code == "suspect_word":
            rank = max(rank, 1.5)
        elif reason.code == "toxicity" and reason.score is not None:
            rank = max(rank, 1.0 + reason.score)
        elif reason.score is not None and reason.threshold:
            rank = max(rank, 0.5)
    return rank


class Desk:
    def __init__(self, redis: RedisClient, views: CommentViews) -> None:
        self._redis = redis
        self._views = views
        self._articles = ArticleStore(redis)

    async def counts(self, tenant: str) -> dict[Queue, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for queue in Queue:
                pipe.zcard(queue_key(tenant, queue))
            raw = await pipe.execute()
        return {queue: int(n) for queue, n in zip(Queue, raw, strict=True)}

    async def page(
        self,
        tenant: str,
        queue: Queue,
        *,
        article_id: str | None = None,
        section: str | None = None,
        sort: Sort = Sort.OLDEST,
        hide: set[str] | None = None,
        limit: int = 50,
    ) -> QueuePage:
        """`hide`: ids whose decision waits out its undo window, already gone from the queue."""
        key = queue_key(tenant, queue)
        ids = await self._members(key, SCAN_LIMIT, newest_first=sort is Sort.NEWEST)
        ids = [i for i in ids if i not in (hide or set())]
        items = await self.items(tenant, ids)
        articles = sorted({(i.decision.article_id, _title(i)) for i in items}, key=lambda a: a[1])
        sections = sorted({i.article.section for i in items if i.article and i.article.section})
        chosen = [
            i
            for i in items
            if (article_id is None or i.decision.article_id == article_id)
            and (section is None or (i.article is not None and i.article.section == section))
        ]
        if sort is Sort.SEVERITY:
            chosen.sort(key=lambda i: i.severity, reverse=True)
        counts = await self.counts(tenant)
        return QueuePage(chosen[:limit], counts, len(chosen), articles, sections)

    async def items(self, tenant: str, comment_ids: Sequence[str]) -> list[Item]:
        states = [s for s in await self._views.states(tenant, comment_ids) if s is not None]
        articles = await self._articles.get_many([(tenant, s.decision.article_id) for s in states])
        authors = await self._authors(tenant, [s.decision.comment.author.id for s in states])
        return [
            Item(
                state=s,
                article=articles.get((tenant, s.decision.article_id)),
                author=authors[s.decision.comment.author.id],
                segments=segments(s.decision.comment.body, s.decision.reasons),
                severity=severity(s.decision),
            )
            for s in states
        ]

    async def item(self, tenant: str, comment_id: str) -> Item | None:
        found = await self.items(tenant, [comment_id])
        return found[0] if found else None

    async def history(self, tenant: str, comment_id: str) -> list[CommentModerated]:
        return await self._views.history(tenant, comment_id)

    async def author_recent(self, tenant: str, author_id: str, limit: int = 10) -> list[Item]:
        key = redis_keys.author_comments(tenant, author_id)
        return await self.items(tenant, await self._members(key, limit, newest_first=True))

    async def _members(self, key: str, limit: int, *, newest_first: bool) -> list[str]:
        found: list[bytes] = await self._redis.zrange(key, 0, limit - 1, desc=newest_first)  # type: ignore[assignment]  # no scores asked
        return [redis_keys.as_text(m) for m in found]

    async def _authors(self, tenant: str, author_ids: Sequence[str]) -> dict[str, AuthorStats]:
        unique = list(dict.fromkeys(author_ids))
        async with self._redis.pipeline(transaction=False) as pipe:
            for author_id in unique:
                pipe.hgetall(redis_keys.author(tenant, author_id))
            raw = await pipe.execute()
        return {
            author_id: AuthorStats(
                **{
                    redis_keys.as_text(k): int(v)
                    for k, v in counts.items()
                    if redis_keys.as_text(k) in {"approved", "review", "rejected"}
                }
            )
            for author_id, counts in zip(unique, raw, strict=True)
        }


def _title(item: Item) -> str:
    return item.article.title if item.article else item.decision.article_id


@dataclass(frozen=True)
class ScoreLine:
    """One score against the policy: where it sits in the label's review band."""

    label: str
    score: float
    review: float | None
    reject: float | None
    level: str  # ok, review, reject


def score_lines(decision: CommentModerated, policy: Policy) -> list[ScoreLine]:
    lines = []
    for label, score in sorted(decision.scores.toxicity.items()):
        band = policy.thresholds.get(label)
        level = "ok"
        if band and score >= band.reject:
            level = "reject"
        elif band and score >= band.review:
            level = "review"
        lines.append(
            ScoreLine(
                label, score, band.review if band else None, band.reject if band else None, level
            )
        )
    relevance = decision.scores.relevance
    if relevance is not None:
        level = "review" if relevance < policy.relevance_floor else "ok"
        lines.append(ScoreLine("relevance", relevance, policy.relevance_floor, None, level))
    return lines


def waited(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"{int(seconds // 86400)} d"


def decided_at_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
