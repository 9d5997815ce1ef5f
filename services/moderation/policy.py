"""Scores, text and context -> verdict with reasons. Pure functions: no I/O, every rule testable.

The worker looks up what a rule needs from Redis (how often the author posted this text, how
many of the author's comments were approved) and passes it in as a `Context`.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.common.contract import Reason, Verdict
from services.moderation.scoring import LabelScores
from services.moderation.scoring.relevance import shipped_floor
from services.moderation.scoring.thresholds import shipped_thresholds
from services.moderation.textmatch import check_entry, find_links, find_terms, link_host

MAX_WORDS = 5000
# A listed word or `re:` pattern, bounded (a pattern runs on every comment); one that is blank
# once normalised is refused by `check_entry`, naming the entry.
Entry = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Domain = Annotated[str, StringConstraints(min_length=1, max_length=253)]


class Band(BaseModel):
    """Below `review`: approve; from `review`: hold for a moderator; from `reject`: reject."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    review: float = Field(ge=0.0, le=1.0)
    reject: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> "Band":
        if self.review > self.reject:
            raise ValueError("review threshold must not be above the reject threshold")
        return self


class LinkAction(StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    REJECT = "reject"


class RateAction(StrEnum):
    HOLD = "hold"
    REJECT = "reject"


def _checked_words(words: list[str]) -> list[str]:
    for index, entry in enumerate(words):
        if problem := check_entry(entry):
            raise ValueError(f"entry {index} ({entry[:40]!r}): {problem}")
    return words


class Policy(BaseModel):
    """One site's rules; `PolicyOverride` changes some of them for a section or an article."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    thresholds: dict[str, Band] = Field(
        default_factory=lambda: {
            label: Band(review=review, reject=reject)
            for label, (review, reject) in shipped_thresholds().items()
        }
    )
    # Below this relevance (best-chunk cosine to the article) a comment is held, never
    # rejected: being off topic is a moderator's call. Unknown articles have no relevance and
    # are never penalised. The default is calibrated: `modctl calibrate-relevance`.
    relevance_floor: float = Field(default_factory=shipped_floor, ge=-1.0, le=1.0)
    # Matched on word boundaries after normalising case, accents, leetspeak and invisible
    # characters; an entry starting with `re:` is a regular expression on the normalised text.
    banned_words: list[Entry] = Field(default_factory=list, max_length=MAX_WORDS)
    suspect_words: list[Entry] = Field(default_factory=list, max_length=MAX_WORDS)
    links: LinkAction = LinkAction.HOLD
    allowed_domains: list[Domain] = Field(default_factory=list, max_length=1000)
    # The same text from the same author more than once within the window: held.
    hold_repeated_posts: bool = True
    repeat_window_seconds: int = Field(default=3600, ge=1, le=30 * 86400)
    # Authors with fewer approved comments than this are held (0: off).
    new_author_min_approved: int = Field(default=0, ge=0, le=1000)
    # More comments a minute than this from one author (a token bucket: that many at once,
    # then one every 60/N seconds): the rest are held or rejected, never refused (0: off).
    author_rate_per_minute: int = Field(default=0, ge=0, le=10_000)
    author_rate_action: RateAction = RateAction.HOLD
    premoderation: bool = False  # hold everything
    closed: bool = False  # no new comments (set on an article, usually)

    @field_validator("banned_words", "suspect_words")
    @classmethod
    def _words_usable(cls, words: list[str]) -> list[str]:
        return _checked_words(words)

    @field_validator("allowed_domains")
    @classmethod
    def _domains_lower(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower().removeprefix("www.") for d in domains if d.strip()]


class PolicyOverride(BaseModel):
    """The rules a section or an article changes; thresholds are merged label by label."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    thresholds: dict[str, Band] | None = None
    relevance_floor: float | None = Field(default=None, ge=-1.0, le=1.0)
    banned_words: list[Entry] | None = Field(default=None, max_length=MAX_WORDS)
    suspect_words: list[Entry] | None = Field(default=None, max_length=MAX_WORDS)
    links: LinkAction | None = None
    allowed_domains: list[Domain] | None = Field(default=None, max_length=1000)
    hold_repeated_posts: bool | None = None
    repeat_window_seconds: int | None = Field(default=None, ge=1, le=30 * 86400)
    new_author_min_approved: int | None = Field(default=None, ge=0, le=1000)
    author_rate_per_minute: int | None = Field(default=None, ge=0, le=10_000)
    author_rate_action: RateAction | None = None
    premoderation: bool | None = None
    closed: bool | None = None

    @field_validator("banned_words", "suspect_words")
    @classmethod
    def _words_usable(cls, words: list[str] | None) -> list[str] | None:
        return None if words is None else _checked_words(words)


def apply_override(policy: Policy, override: PolicyOverride | None) -> Policy:
    if override is None:
        return policy
    changes: dict[str, Any] = override.model_dump(exclude_none=True)
    if "thresholds" in changes:
        changes["thresholds"] = {**policy.thresholds, **override.thresholds}  # type: ignore[dict-item]
    return policy.model_copy(update=changes)


@dataclass(frozen=True)
class Context:
    """What the rules need beyond the text and the scores; looked up by the worker."""

    repeats: int = 0  # earlier posts of the same text by the same author, within the window
    author_approved: int | None = None  # None: unknown, the rule does not apply
    author_over_rate: bool = False  # the author's comment bucket was empty for this one


_SEVERITY = {Verdict.APPROVED: 0, Verdict.REVIEW: 1, Verdict.REJECTED: 2}
Found = list[tuple[Verdict, Reason]]


def decide(
    policy: Policy,
    toxicity: LabelScores,
    relevance: float | None,
    text: str = "",
    context: Context | None = None,
) -> tuple[Verdict, list[Reason]]:
    """The strictest rule wins; every rule that fired is a reason, the decisive ones first."""
    context = context or Context()
    found: Found = []
    if policy.closed:
        found.append((Verdict.REJECTED, Reason(code="article_closed", detail=_CLOSED)))
    found += _words(policy, text)
    found += _scores(policy, toxicity, relevance)
    found += _links(policy, text)
    found += _author(policy, context)
    if policy.premoderation:
        found.append((Verdict.REVIEW, Reason(code="premoderation", detail=_PREMODERATION)))
    if not found:
        return Verdict.APPROVED, []
    found.sort(key=lambda item: _SEVERITY[item[0]], reverse=True)
    return found[0][0], [reason for _, reason in found]


_CLOSED = "comments on this article are closed"
_PREMODERATION = "pre-moderation: every comment is reviewed before it is published"


def _scores(policy: Policy, toxicity: LabelScores, relevance: float | None) -> Found:
    found: Found = []
    for label, band in policy.thresholds.items():
        score = toxicity.get(label)
        if score is None or score < band.review:
            continue
        verdict, threshold = (
            (Verdict.REJECTED, band.reject)
            if score >= band.reject
            else (Verdict.REVIEW, band.review)
        )
        found.append(
            (verdict, Reason(code="toxicity", label=label, score=score, threshold=threshold))
        )
    if relevance is not None and relevance < policy.relevance_floor:
        reason = Reason(
            code="off_topic", label="relevance", score=relevance, threshold=policy.relevance_floor
        )
        found.append((Verdict.REVIEW, reason))
    return found


def _words(policy: Policy, text: str) -> Found:
    found: Found = []
    for code, words, verdict in (
        ("banned_word", policy.banned_words, Verdict.REJECTED),
        ("suspect_word", policy.suspect_words, Verdict.REVIEW),
    ):
        for match in find_terms(text, words):
            reason = Reason(
                code=code, label=match.term, detail=match.text, span=(match.start, match.end)
            )
            found.append((verdict, reason))
    return found


def _links(policy: Policy, text: str) -> Found:
    if policy.links is LinkAction.ALLOW:
        return []
    verdict = Verdict.REJECTED if policy.links is LinkAction.REJECT else Verdict.REVIEW
    return [
        (
            verdict,
            Reason(code="link", label=link_host(m.text), detail=m.text, span=(m.start, m.end)),
        )
        for m in find_links(text)
        if not _allowed(link_host(m.text), policy.allowed_domains)
    ]


def _allowed(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith(f".{d}") for d in domains)


def _author(policy: Policy, context: Context) -> Found:
    found: Found = []
    if policy.hold_repeated_posts and context.repeats > 0:
        reason = Reason(
            code="repeated_post",
            score=float(context.repeats),
            detail=f"posted {context.repeats + 1} times by this author",
        )
        found.append((Verdict.REVIEW, reason))
    minimum = policy.new_author_min_approved
    if minimum and context.author_approved is not None and context.author_approved < minimum:
        reason = Reason(
            code="new_author",
            score=float(context.author_approved),
            threshold=float(minimum),
            detail=f"{context.author_approved} of {minimum} approved comments needed",
        )
        found.append((Verdict.REVIEW, reason))
    if policy.author_rate_per_minute and context.author_over_rate:
        verdict = (
            Verdict.REJECTED if policy.author_rate_action is RateAction.REJECT else Verdict.REVIEW
        )
        reason = Reason(
            code="author_rate",
            threshold=float(policy.author_rate_per_minute),
            detail=f"more than {policy.author_rate_per_minute} comments a minute by this author",
        )
        found.append((verdict, reason))
    return found
