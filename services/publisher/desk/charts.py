"""Inline SVG bar charts for the insights page.

The geometry is computed here and drawn by the `_chart.svg` template, so the page needs no
script, no build step and no chart library, and the desk's Content-Security-Policy holds: colours
come from classes in desk.css, never from inline styles. A chart scales with its viewBox, so one
drawing serves a laptop and a tablet.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 24  # room for the value ticks and the slot labels
LABEL_WIDTH = 58  # a slot label needs about this much room; labels are thinned to fit
GROUP_FILL = 0.8  # the share of a slot its bars take; the rest is the gap between slots
MIN_BAR = 1.0  # the height a value of zero is drawn at
# Ticks of durations land on these (seconds): minutes, hours, days.
DURATION_STEPS = (60, 300, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600, 86400,
                  2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400, 28 * 86400)  # fmt: skip

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"),
    autoescape=True,  # titles carry reason codes and model versions, which come from events
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Series:
    """One set of bars: a value per slot (None: nothing to draw there) and a tooltip per slot;
    `css` names its colour in desk.css."""

    name: str
    css: str
    values: Sequence[float | None]
    titles: Sequence[str]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    label: str  # what the chart shows, for screen readers and as its tooltip
    bars: list[Bar]
    x_labels: list[Text]
    y_ticks: list[Text]
    markers: list[Text] = field(default_factory=list)  # a dashed line at x, `text` its tooltip
    legend: list[tuple[str, str]] = field(default_factory=list)  # (name, css)
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def plot_left(self) -> float:
        return LEFT

    @property
    def plot_right(self) -> float:
        return self.width - RIGHT

    @property
    def plot_top(self) -> float:
        return TOP

    @property
    def plot_bottom(self) -> float:
        return self.height - BOTTOM


def nice_top(value: float, minimum: float = 1.0) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten at or above `value`."""
    value = max(value, minimum)
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value - 1e-12)


def duration_top(seconds: float) -> float:
    return next((s for s in DURATION_STEPS if s >= seconds), max(seconds, DURATION_STEPS[-1]))


def bar_chart(
    slots: Sequence[str],
    series: Sequence[Series],
    *,
    top: float,
    tick: Callable[[float], str],
    label: str,
    markers: Sequence[tuple[int, str]] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Bars of each series side by side in each slot, heights in proportion to `top` (values
    above it are drawn at full height); `markers`: (slot, tooltip) lines at a slot's left edge."""
    if top <= 0:
        raise ValueError("top must be positive")
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    bottom = height - BOTTOM
    slot = plot_width / max(len(slots), 1)
    bar_width = slot * GROUP_FILL / max(len(series), 1)
    bars = []
    for s_index, s in enumerate(series):
        for i, value in enumerate(s.values):
            if value is None:
                continue
            # A value of zero still shows as a sliver: a day with verdicts and none overruled
            # looks different from a day without verdicts.
            tall = max(min(max(value, 0.0) / top, 1.0) * plot_height, MIN_BAR)
            x = LEFT + i * slot + slot * (1 - GROUP_FILL) / 2 + s_index * bar_width
            bars.append(
                Bar(
                    round(x, 2),
                    round(bottom - tall, 2),
                    round(bar_width, 2),
                    round(tall, 2),
                    s.css,
                    s.titles[i],
                )
            )
    every = max(math.ceil(len(slots) * LABEL_WIDTH / plot_width), 1)
    x_labels = [
        Text(round(LEFT + (i + 0.5) * slot, 2), height - 6, text)
        for i, text in enumerate(slots)
        if i % every == 0
    ]
    y_ticks = [
        Text(LEFT - 6, round(bottom - fraction * plot_height, 2), tick(top * fraction))
        for fraction in (0.0, 0.5, 1.0)
    ]
    lines = [Text(round(LEFT + i * slot, 2), TOP, text) for i, text in markers]
    legend = [(s.name, s.css) for s in series]
    return Chart(label, bars, x_labels, y_ticks, lines, legend, width, height)


def render(chart: Chart) -> Markup:
    """The chart as an inline `<svg>` element."""
    return Markup(_TEMPLATES.get_template("_chart.svg").render(chart=chart))


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
