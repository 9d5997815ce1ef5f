"""The insights page's figures and charts as pure functions: periods, overrule rates, score
histograms, held-queue waits, week-on-week drift, model runs, and the SVG they are drawn as."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.contract import CommentModerated, Reason, Scores, Verdict
from services.publisher.daily import DayCounts
from services.publisher.desk.charts import Series, bar_chart, duration_top, nice_top, render
from services.publisher.desk.decisions import Action, human_verdict
from services.publisher.desk.figures import (
    agreement,
    held_by_period,
    held_share,
    histograms,
    model_runs,
    percentile,
    periods,
)
from tests.publisher.test_views import verdict

TODAY = date(2026, 12, 3)  # a Thursday
TOXIC = Reason(code="toxicity", label="insult", score=0.7, threshold=0.58)
OFF_TOPIC = Reason(code="off_topic", label="relevance", score=0.1, threshold=0.19)


def decided(
    day: date,
    action: Action,
    machine: list[Reason],
    scores: dict[str, float] | None = None,
    relevance: float | None = 0.5,
) -> CommentModerated:
    """A moderator's verdict on `day` over a machine verdict with `machine` reasons."""
    held = verdict("t", "a", Verdict.REVIEW if machine else Verdict.APPROVED)
    held = held.model_copy(
        update={
            "reasons": machine,
            "scores": Scores(toxicity=scores or {"toxicity": 0.1}, relevance=relevance),
        }
    )
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return human_verdict(held, action, "ann", at, None if action is Action.APPROVE else "violence")


def test_short_ranges_are_days_and_long_ones_monday_weeks_clipped_to_the_range() -> None:
    days = periods(TODAY, 7)
    assert [p.first for p in days] == [TODAY - timedelta(days=6 - i) for i in range(7)]
    assert all(p.first == p.last for p in days)
    weeks = periods(TODAY, 91)
    assert weeks[0].first == TODAY - timedelta(days=90)
    assert weeks[-1] == type(weeks[-1])(date(2026, 11, 30), TODAY)  # Monday to today
    assert all(p.first.weekday() == 0 for p in weeks[1:])
    assert all(p.last.weekday() == 6 for p in weeks[:-1])
    assert sum((p.last - p.first).days + 1 for p in weeks) == 91


def test_overrule_rates_by_day_by_reason_and_by_label_follow_the_metrics_definition() -> None:
    yesterday = TODAY - timedelta(days=1)
    decisions = [
        decided(yesterday, Action.APPROVE, [TOXIC]),  # overrules toxicity (insult)
        decided(yesterday, Action.REJECT, [TOXIC]),  # agrees
        decided(TODAY, Action.APPROVE, [OFF_TOPIC, TOXIC]),  # overrules off_topic
        decided(TODAY, Action.REJECT, []),  # the machine approved: overrules "none"
        decided(TODAY, Action.APPROVE, []),  # agrees
        decided(TODAY - timedelta(days=30), Action.APPROVE, [TOXIC]),  # outside the range
    ]
    found = agreement(decisions, periods(TODAY, 7))
    assert [(r.decisions, r.overruled) for r in found.by_period[-2:]] == [(2, 1), (3, 2)]
    assert [r.decisions for r in found.by_period[:-2]] == [0] * 5
    assert found.by_period[-1].share == pytest.approx(2 / 3)
    assert found.by_period[0].share is None
    assert (found.total.decisions, found.total.overruled) == (5, 3)
    assert {k: (r.decisions, r.overruled) for k, r in found.by_reason.items()} == {
        "none": (2, 1),
        "toxicity": (2, 1),
        "off_topic": (1, 1),
    }
    assert list(found.by_reason) == ["none", "toxicity", "off_topic"]  # most verdicts first
    assert {k: (r.decisions, r.overruled) for k, r in found.by_label.items()} == {
        "insult": (3, 2),
        "relevance": (1, 1),
    }
    assert [r.overruled for r in found.reason_periods["off_topic"]] == [0] * 6 + [1]


def test_histograms_bin_approved_and_rejected_scores_per_label() -> None:
    decisions = [
        decided(TODAY, Action.APPROVE, [TOXIC], {"toxicity": 0.05, "insult": 1.0}, 0.95),
        decided(TODAY, Action.APPROVE, [TOXIC], {"toxicity": 0.15, "insult": 0.3}, None),
        decided(TODAY, Action.REJECT, [TOXIC], {"toxicity": 0.92, "insult": 0.61}, 0.1),
    ]
    found = {h.label: h for h in histograms(decisions)}
    assert list(found) == ["insult", "toxicity", "relevance"]  # relevance last
    assert found["toxicity"].approved == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert found["toxicity"].rejected == [0] * 9 + [1]
    assert found["insult"].approved[9] == 1  # a score of 1.0 lands in the last bin
    assert found["insult"].rejected[6] == 1
    assert sum(found["relevance"].approved) == 1  # a verdict without relevance adds none
    assert found["relevance"].rejected[1] == 1


def day(on: date, comments: int = 0, held: int = 0, **extra: object) -> DayCounts:
    verdicts = {"review": held, "approved": comments - held} if comments else {}
    return DayCounts(on, comments, verdicts, **extra)  # type: ignore[arg-type]


def test_held_volume_and_waits_per_day_and_per_week() -> None:
    days = [
        day(TODAY - timedelta(days=1), 10, 4, waits=[60.0, 120.0, 3600.0]),
        day(TODAY, 5, 1, waits=[30.0]),
    ]
    daily = held_by_period(days, periods(TODAY, 7))
    assert [(h.comments, h.held, h.decided) for h in daily[-2:]] == [(10, 4, 3), (5, 1, 1)]
    assert (daily[-2].median_wait, daily[-2].p90_wait) == (120.0, 3600.0)
    assert daily[0].median_wait is None
    weekly = held_by_period(days, periods(TODAY, 91))
    assert (weekly[-1].comments, weekly[-1].held, weekly[-1].decided) == (15, 5, 4)
    assert percentile([5.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([], 0.9) is None


def test_the_held_share_warns_when_it_moves_more_than_the_threshold() -> None:
    this_week = [day(TODAY - timedelta(days=i), 100, 30) for i in range(7)]
    last_week = [day(TODAY - timedelta(days=7 + i), 100, 15) for i in range(7)]
    older = [day(TODAY - timedelta(days=14), 100, 100)]  # not in either week
    share = held_share(this_week + last_week + older, TODAY, threshold_points=10)
    assert (share.this_week.held, share.this_week.comments) == (210, 700)
    assert (share.last_week.held, share.last_week.comments) == (105, 700)
    assert share.drift_points == pytest.approx(15.0)
    assert share.drifted
    assert not held_share(this_week + last_week, TODAY, threshold_points=15.5).drifted
    down = held_share([*last_week, day(TODAY, 100, 0)], TODAY, threshold_points=10)
    assert down.drift_points == pytest.approx(-15.0)
    assert down.drifted
    nothing_before = held_share(this_week, TODAY, threshold_points=10)
    assert nothing_before.drift_points is None
    assert not nothing_before.drifted


def test_model_runs_mark_the_days_the_served_version_changed() -> None:
    shared, adapted = "minilm-tox-20261203", "minilm-tox-20261203+news-a.3"
    days = [
        DayCounts(TODAY - timedelta(days=4), 3, models={shared: 3}),
        DayCounts(TODAY - timedelta(days=3), 2, models={shared: 2}),
        DayCounts(TODAY - timedelta(days=2)),  # no verdicts: no run
        DayCounts(TODAY - timedelta(days=1), 5, models={shared: 1, adapted: 4}),
        DayCounts(TODAY, 6, models={adapted: 6}),
    ]
    runs = model_runs(days)
    assert [(r.first, r.last, r.changed) for r in runs] == [
        (TODAY - timedelta(days=4), TODAY - timedelta(days=3), False),
        (TODAY - timedelta(days=1), TODAY - timedelta(days=1), True),
        (TODAY, TODAY, True),
    ]
    assert runs[0].versions == {shared: 5}
    assert list(runs[1].versions) == [adapted, shared]  # most comments first, shown as is


def test_bars_are_drawn_in_proportion_with_gaps_where_there_is_no_value() -> None:
    chart = bar_chart(
        ["a", "b", "c", "d"],
        [Series("s", "held", [10, None, 5, 20], ["A", "B", "C", "D"])],
        top=10,
        tick=str,
        label="test",
        width=400,
        height=200,
    )
    assert [b.title for b in chart.bars] == ["A", "C", "D"]
    full = chart.plot_bottom - chart.plot_top
    assert [b.height for b in chart.bars] == [full, full / 2, full]  # 20 is clipped at the top
    assert all(b.y + b.height == pytest.approx(chart.plot_bottom) for b in chart.bars)
    xs = [b.x for b in chart.bars]
    assert xs == sorted(xs)
    assert [t.text for t in chart.y_ticks] == ["0.0", "5.0", "10.0"]


def test_series_sit_side_by_side_and_slot_labels_are_thinned_to_fit() -> None:
    slots = [str(i) for i in range(60)]
    values: list[float | None] = [1.0] * 60
    chart = bar_chart(
        slots,
        [Series("a", "approved", values, slots), Series("r", "rejected", values, slots)],
        top=1,
        tick=str,
        label="pairs",
    )
    approved = [b for b in chart.bars if b.css == "approved"]
    rejected = [b for b in chart.bars if b.css == "rejected"]
    assert len(approved) == len(rejected) == 60
    assert all(
        r.x == pytest.approx(a.x + a.width, abs=0.02)
        for a, r in zip(approved, rejected, strict=True)
    )
    assert 1 < len(chart.x_labels) < 60
    gaps = {round(b.x - a.x) for a, b in zip(chart.x_labels, chart.x_labels[1:], strict=False)}
    assert len(gaps) == 1  # evenly spaced


def test_the_svg_has_a_rect_per_bar_and_escapes_its_text() -> None:
    chart = bar_chart(
        ["<b>", "2"],
        [Series("s", "overruled", [0.5, 0.25], ['<script>"x"</script>', "fine"])],
        top=1,
        tick=lambda v: f"{v:.1f}",
        label="a & b",
        markers=[(1, "model changed to m+news-a.3")],
    )
    svg = str(render(chart))
    assert svg.startswith("<svg")
    assert len(re.findall(r"<rect class=\"bar overruled\"", svg)) == 2
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"><title>', svg)]
    assert heights[0] == pytest.approx(2 * heights[1])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "&lt;b&gt;" in svg
    assert 'aria-label="a &amp; b"' in svg
    assert svg.count('class="marker"') == 1


def test_axis_tops_are_round_numbers_and_durations() -> None:
    assert [nice_top(v) for v in (0, 0.3, 3, 7, 42, 250)] == [1, 1, 5, 10, 50, 250]
    assert nice_top(0.03, 0.1) == pytest.approx(0.1)
    assert nice_top(0.37, 0.1) == pytest.approx(0.5)
    assert duration_top(0) == 60
    assert duration_top(4000) == 7200
    with pytest.raises(ValueError, match="top"):
        bar_chart(["a"], [], top=0, tick=str, label="x")
