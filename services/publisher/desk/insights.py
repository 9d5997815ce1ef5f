"""The insights page for editors: how often moderators overrule the machine, how the scores of
what they approve and reject differ, how the held queue and its waits go, whether the share held
drifts, and which model served when. Read from the moderators' verdicts
(`redis_keys.decisions`) and the per-day verdict view (`services.publisher.daily`); drawn as
inline SVG (`charts`)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup

from services.common import redis_keys
from services.common.contract import CommentModerated
from services.common.redis_client import RedisClient
from services.publisher.daily import DailyView, micros
from services.publisher.desk import charts
from services.publisher.desk.charts import Series, bar_chart, duration_top, nice_top, render
from services.publisher.desk.figures import (
    Agreement,
    HeldPeriod,
    HeldShare,
    Histogram,
    ModelRun,
    Period,
    Rate,
    agreement,
    held_by_period,
    held_share,
    histograms,
    model_runs,
    period_of,
    periods,
)
from services.publisher.desk.queue import waited

MAX_DAYS = 366
DEFAULT_DAYS = 28
RANGES = (7, 14, 28, 91, 182, 365)  # the range picker's choices; any 1..MAX_DAYS is accepted
REASON_CHARTS = 4  # the machine's reasons with the most verdicts get a chart each
SMALL_WIDTH, SMALL_HEIGHT = 360, 170  # the charts shown several to a row
WIDE_WIDTH, WIDE_HEIGHT = 1000, 220  # the chart across the page


@dataclass(frozen=True)
class Figure:
    """A titled chart with the numbers it summarises."""

    title: str
    chart: Markup
    note: str = ""
    legend: list[tuple[str, str]] = field(default_factory=list)  # (name, css) under the chart


@dataclass(frozen=True)
class Insights:
    tenant: str
    days: int
    first: date
    today: date
    weekly: bool
    agreement: Agreement
    held: list[HeldPeriod]
    share: HeldShare
    models: list[ModelRun]
    agreement_chart: Figure
    reason_charts: list[Figure]
    held_chart: Figure
    wait_chart: Figure
    histogram_charts: list[Figure]


async def read_decisions(
    redis: RedisClient, tenant: str, first: date, last: date
) -> list[CommentModerated]:
    """The moderators' verdicts decided from `first` to `last` (UTC days), oldest first."""
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    raw: list[bytes] = await redis.zrangebyscore(  # type: ignore[assignment]
        redis_keys.decisions(tenant), micros(start), f"({micros(end)}"
    )
    return [CommentModerated.model_validate_json(entry) for entry in raw]


async def load_insights(
    redis: RedisClient, tenant: str, days: int, today: date, drift_points: float
) -> Insights:
    """Every figure of the page for the `days` days up to `today`."""
    spans = periods(today, days)
    first = spans[0].first
    decisions = await read_decisions(redis, tenant, first, today)
    # The week-on-week share needs 14 days whatever the range shown.
    counts = await DailyView(redis).days(tenant, min(first, today - timedelta(days=13)), today)
    shown = [d for d in counts if d.day >= first]
    agreed = agreement(decisions, spans)
    held = held_by_period(shown, spans)
    runs = model_runs(shown)
    return Insights(
        tenant=tenant,
        days=days,
        first=first,
        today=today,
        weekly=any(p.first != p.last for p in spans),
        agreement=agreed,
        held=held,
        share=held_share(counts, today, drift_points),
        models=runs,
        agreement_chart=_agreement_chart(spans, agreed.by_period),
        reason_charts=[
            _reason_chart(spans, reason, agreed.by_reason[reason], rates)
            for reason, rates in list(agreed.reason_periods.items())[:REASON_CHARTS]
        ],
        held_chart=_held_chart(spans, held, runs),
        wait_chart=_wait_chart(spans, held),
        histogram_charts=[_histogram_chart(h) for h in histograms(decisions)],
    )


def _rate_title(period: Period, rate: Rate) -> str:
    if not rate.decisions:
        return f"{period.label}: no moderator verdicts"
    return (
        f"{period.label}: {rate.overruled} of {rate.decisions} verdicts overruled the machine "
        f"({charts.percent(rate.share or 0.0)})"
    )


def _rate_series(spans: Sequence[Period], rates: Sequence[Rate]) -> Series:
    return Series(
        "overruled",
        "overruled",
        [r.share for r in rates],
        [_rate_title(p, r) for p, r in zip(spans, rates, strict=True)],
    )


def _rate_top(rates: Sequence[Rate]) -> float:
    return min(nice_top(max((r.share or 0.0 for r in rates), default=0.0), 0.1), 1.0)


def _agreement_chart(spans: Sequence[Period], rates: Sequence[Rate]) -> Figure:
    chart = bar_chart(
        [p.label for p in spans],
        [_rate_series(spans, rates)],
        top=_rate_top(rates),
        tick=charts.percent,
        label="Share of moderators' verdicts that overruled the machine, by "
        + ("week" if spans[0].first != spans[0].last else "day"),
        width=WIDE_WIDTH,
        height=WIDE_HEIGHT,
    )
    return Figure("Overruled, all verdicts", render(chart))


def _reason_chart(spans: Sequence[Period], reason: str, total: Rate, rates: list[Rate]) -> Figure:
    name = reason.replace("_", " ") if reason != "none" else "approved by the machine"
    chart = bar_chart(
        [p.label for p in spans],
        [_rate_series(spans, rates)],
        top=_rate_top(rates),
        tick=charts.percent,
        label=f"Share overruled where the machine's reason was {name}",
        width=SMALL_WIDTH,
        height=SMALL_HEIGHT,
    )
    note = f"{total.overruled} of {total.decisions} overruled"
    return Figure(name, render(chart), note)


def _held_chart(
    spans: Sequence[Period], held: Sequence[HeldPeriod], runs: Sequence[ModelRun]
) -> Figure:
    top = nice_top(max((max(h.held, h.decided) for h in held), default=0), 1.0)
    held_series = Series(
        "held by the machine",
        "held",
        [h.held if h.comments else None for h in held],  # no bar for a day without verdicts
        [
            f"{p.label}: {h.held} of {h.comments} comments held"
            for p, h in zip(spans, held, strict=True)
        ],
    )
    decided_series = Series(
        "decided by moderators",
        "decided",
        [h.decided if h.comments or h.decided else None for h in held],
        [f"{p.label}: {h.decided} held comments decided" for p, h in zip(spans, held, strict=True)],
    )
    markers = [
        (at, f"{run.first.isoformat()}: model changed to {', '.join(run.versions)}")
        for run in runs
        if run.changed and (at := period_of(spans, run.first)) is not None
    ]
    chart = bar_chart(
        [p.label for p in spans],
        [held_series, decided_series],
        top=top,
        tick=charts.count,
        label="Comments held by the machine and held comments decided by moderators",
        markers=markers,
    )
    note = "dashed line: the model changed" if markers else ""
    return Figure("Held comments", render(chart), note, chart.legend)


def _wait_chart(spans: Sequence[Period], held: Sequence[HeldPeriod]) -> Figure:
    longest = max((h.p90_wait or 0.0 for h in held), default=0.0)

    def titles(kind: str, values: Sequence[float | None]) -> list[str]:
        return [
            f"{p.label}: {kind} {waited(v)}" if v is not None else f"{p.label}: none decided"
            for p, v in zip(spans, values, strict=True)
        ]

    medians = [h.median_wait for h in held]
    p90s = [h.p90_wait for h in held]
    chart = bar_chart(
        [p.label for p in spans],
        [
            Series("median", "median", medians, titles("median wait", medians)),
            Series("90th percentile", "p90", p90s, titles("90% decided within", p90s)),
        ],
        top=duration_top(longest),
        tick=waited,
        label="How long held comments waited for a moderator",
    )
    return Figure("Waiting for a moderator", render(chart), legend=chart.legend)


def _histogram_chart(histogram: Histogram) -> Figure:
    approved, rejected = sum(histogram.approved), sum(histogram.rejected)

    def shares(counts: list[int], total: int) -> list[float | None]:
        return [n / total if n else None for n in counts]  # an empty bin draws nothing

    width = 1 / histogram.bins
    edges = [f"{i * width:.1f}" for i in range(histogram.bins)]

    def titles(kind: str, counts: list[int], total: int) -> list[str]:
        return [
            f"{kind}, score {edge} to {float(edge) + width:.1f}: {n} of {total}"
            for edge, n in zip(edges, counts, strict=True)
        ]

    series = [
        Series("approved", "approved", shares(histogram.approved, approved),
               titles("approved", histogram.approved, approved)),
        Series("rejected", "rejected", shares(histogram.rejected, rejected),
               titles("rejected", histogram.rejected, rejected)),
    ]  # fmt: skip
    top = nice_top(max((v or 0.0 for s in series for v in s.values), default=0.0), 0.1)
    chart = bar_chart(
        edges,
        series,
        top=min(top, 1.0),
        tick=charts.percent,
        label=f"{histogram.label} scores of approved and rejected comments",
        width=SMALL_WIDTH,
        height=SMALL_HEIGHT,
    )
    note = f"{approved} approved, {rejected} rejected"
    return Figure(histogram.label.replace("_", " "), render(chart), note)
