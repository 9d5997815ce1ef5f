"""The insights page's figures: pure functions of the moderators' verdicts and of the per-day
verdict counts (`services.publisher.daily`), so each figure is tested without Redis or a page.

Days are UTC days. "Overruled" is what `moderation_human_overrule_total` counts
(`worker.machine_reason_overruled`): a moderator approving what the machine held or rejected,
or rejecting what it approved.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.common.contract import CommentModerated, Verdict
from services.publisher.daily import DayCounts, day_of
from services.publisher.desk.decisions import machine_reason_overruled, machine_reasons

# From this many days on, time is shown by week: a bar a day gets too thin to read.
WEEKLY_FROM_DAYS = 63
MACHINE_APPROVED = "none"  # the decisive reason of a verdict where the machine had approved
RELEVANCE = "relevance"
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class Period:
    """A day, or a week (Monday to Sunday, clipped to the range shown)."""

    first: date
    last: date

    @property
    def label(self) -> str:
        return (
            self.first.strftime("%b %d")
            if self.first == self.last
            else self.first.strftime("w/c %b %d")
        )

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


def periods(today: date, days: int) -> list[Period]:
    """The `days` days up to `today`, as days, or as weeks when the range is long."""
    first = today - timedelta(days=days - 1)
    if days < WEEKLY_FROM_DAYS:
        return [Period(first + timedelta(days=i), first + timedelta(days=i)) for i in range(days)]
    found = []
    start = first
    while start <= today:
        end = min(start + timedelta(days=6 - start.weekday()), today)
        found.append(Period(start, end))
        start = end + timedelta(days=1)
    return found


def period_of(spans: Sequence[Period], day: date) -> int | None:
    return next((i for i, p in enumerate(spans) if day in p), None)


@dataclass(frozen=True)
class Rate:
    """Moderators' verdicts and how many of them overruled the machine."""

    decisions: int = 0
    overruled: int = 0

    @property
    def share(self) -> float | None:
        return self.overruled / self.decisions if self.decisions else None

    def add(self, overruled: bool) -> "Rate":
        return Rate(self.decisions + 1, self.overruled + int(overruled))


def decisive_reason(decision: CommentModerated) -> str:
    """The machine's first reason, as the overrule metric labels it ("none": it approved)."""
    machine = machine_reasons(decision)
    return machine[0].code if machine else MACHINE_APPROVED


def score_labels(decision: CommentModerated) -> set[str]:
    """The labels of the machine's score rules that fired: each toxicity label, and relevance."""
    labels = set()
    for reason in machine_reasons(decision):
        if reason.code == "toxicity" and reason.label:
            labels.add(reason.label)
        elif reason.code == "off_topic":
            labels.add(RELEVANCE)
    return labels


@dataclass(frozen=True)
class Agreement:
    """Overrule rates: per period, per decisive reason (over the range and per period) and per
    score label over the range. Reasons and labels are ordered by how many verdicts they had."""

    by_period: list[Rate]
    by_reason: dict[str, Rate]
    by_label: dict[str, Rate]
    reason_periods: dict[str, list[Rate]]

    @property
    def total(self) -> Rate:
        return Rate(
            sum(r.decisions for r in self.by_period), sum(r.overruled for r in self.by_period)
        )


def agreement(decisions: Iterable[CommentModerated], spans: Sequence[Period]) -> Agreement:
    by_period = [Rate() for _ in spans]
    by_reason: dict[str, Rate] = defaultdict(Rate)
    by_label: dict[str, Rate] = defaultdict(Rate)
    reason_periods: dict[str, list[Rate]] = defaultdict(lambda: [Rate() for _ in spans])
    for decision in decisions:
        at = period_of(spans, day_of(decision.decided_at))
        if at is None:
            continue
        overruled = machine_reason_overruled(decision) is not None
        reason = decisive_reason(decision)
        by_period[at] = by_period[at].add(overruled)
        by_reason[reason] = by_reason[reason].add(overruled)
        reason_periods[reason][at] = reason_periods[reason][at].add(overruled)
        for label in score_labels(decision):
            by_label[label] = by_label[label].add(overruled)
    order = sorted(by_reason, key=lambda r: (-by_reason[r].decisions, r))
    return Agreement(
        by_period=by_period,
        by_reason={r: by_reason[r] for r in order},
        by_label=dict(sorted(by_label.items(), key=lambda item: (-item[1].decisions, item[0]))),
        reason_periods={r: reason_periods[r] for r in order},
    )


@dataclass(frozen=True)
class Histogram:
    """One label's scores of moderator-approved and moderator-rejected comments, in equal bins
    over [0, 1] (a score of 1.0 goes in the last bin)."""

    label: str
    approved: list[int]
    rejected: list[int]

    @property
    def bins(self) -> int:
        return len(self.approved)


def bin_of(score: float, bins: int = HISTOGRAM_BINS) -> int:
    return min(max(int(score * bins), 0), bins - 1)


def histograms(
    decisions: Iterable[CommentModerated], bins: int = HISTOGRAM_BINS
) -> list[Histogram]:
    """Per label (toxicity labels by name, then relevance), for moderators' verdicts."""
    counts: dict[str, dict[Verdict, list[int]]] = {}
    for decision in decisions:
        if decision.verdict not in (Verdict.APPROVED, Verdict.REJECTED):
            continue
        scores = dict(decision.scores.toxicity)
        if decision.scores.relevance is not None:
            scores[RELEVANCE] = decision.scores.relevance
        for label, score in scores.items():
            per = counts.setdefault(label, {v: [0] * bins for v in Verdict})
            per[decision.verdict][bin_of(score, bins)] += 1
    order = sorted(counts, key=lambda label: (label == RELEVANCE, label))
    return [
        Histogram(label, counts[label][Verdict.APPROVED], counts[label][Verdict.REJECTED])
        for label in order
    ]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest rank: the smallest value with at least `fraction` of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


@dataclass(frozen=True)
class HeldPeriod:
    """Comments the machine decided and held in a period, and the waits of held comments that
    moderators decided in it."""

    comments: int
    held: int
    decided: int
    median_wait: float | None
    p90_wait: float | None


def held_by_period(days: Iterable[DayCounts], spans: Sequence[Period]) -> list[HeldPeriod]:
    comments, held = [0] * len(spans), [0] * len(spans)
    waits: list[list[float]] = [[] for _ in spans]
    for day in days:
        at = period_of(spans, day.day)
        if at is None:
            continue
        comments[at] += day.comments
        held[at] += day.held
        waits[at] += day.waits
    return [
        HeldPeriod(comments[i], held[i], len(waits[i]), percentile(waits[i], 0.5),
                   percentile(waits[i], 0.9))
        for i in range(len(spans))
    ]  # fmt: skip


@dataclass(frozen=True)
class Share:
    held: int
    comments: int

    @property
    def share(self) -> float | None:
        return self.held / self.comments if self.comments else None


@dataclass(frozen=True)
class HeldShare:
    """The share of comments held in the 7 days up to today against the 7 days before, and
    whether it moved by more than `threshold_points` percentage points."""

    this_week: Share
    last_week: Share
    threshold_points: float

    @property
    def drift_points(self) -> float | None:
        now, before = self.this_week.share, self.last_week.share
        return None if now is None or before is None else (now - before) * 100

    @property
    def drifted(self) -> bool:
        drift = self.drift_points
        return drift is not None and abs(drift) > self.threshold_points


def held_share(days: Iterable[DayCounts], today: date, threshold_points: float) -> HeldShare:
    weeks = [Share(0, 0), Share(0, 0)]
    for day in days:
        back = (today - day.day).days
        if 0 <= back < 14:
            week = back // 7
            weeks[week] = Share(weeks[week].held + day.held, weeks[week].comments + day.comments)
    return HeldShare(weeks[0], weeks[1], threshold_points)


@dataclass(frozen=True)
class ModelRun:
    """Consecutive days on which the same model versions decided comments; `changed` when they
    differ from the run before. Versions come as the verdicts carry them, adaptation suffix
    (after '+') and all, with their comment counts, most used first."""

    first: date
    last: date
    versions: dict[str, int] = field(default_factory=dict)
    changed: bool = False


def model_runs(days: Iterable[DayCounts]) -> list[ModelRun]:
    runs: list[ModelRun] = []
    for day in sorted((d for d in days if d.models), key=lambda d: d.day):
        if runs and set(runs[-1].versions) == set(day.models):
            merged = Counter(runs[-1].versions) + Counter(day.models)
            runs[-1] = ModelRun(runs[-1].first, day.day, dict(merged), runs[-1].changed)
        else:
            runs.append(ModelRun(day.day, day.day, dict(day.models), changed=bool(runs)))
    return [
        ModelRun(r.first, r.last, dict(sorted(r.versions.items(), key=lambda v: (-v[1], v[0]))),
                 r.changed)
        for r in runs
    ]  # fmt: skip
