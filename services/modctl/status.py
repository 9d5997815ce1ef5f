"""`modctl status`: the running system at a glance, read from the services' own /metrics.

No Prometheus needed: two scrapes a few seconds apart give the rates; histograms give the
latency percentiles (over the window when something happened in it, else since start).
"""

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Metrics:
    """Every sample of one scrape of all services: name -> {labels: value}."""

    samples: dict[str, dict[Labels, float]] = field(default_factory=dict)
    up: dict[str, bool] = field(default_factory=dict)
    taken_at: float = field(default_factory=time.monotonic)

    def series(self, name: str, **match: str) -> dict[Labels, float]:
        wanted = set(match.items())
        return {k: v for k, v in self.samples.get(name, {}).items() if wanted <= k}

    def total(self, name: str, **match: str) -> float:
        return sum(self.series(name, **match).values())

    def by(self, name: str, label: str, **match: str) -> dict[str, float]:
        """Summed by one label's value."""
        found: dict[str, float] = {}
        for labels, value in self.series(name, **match).items():
            key = dict(labels).get(label, "")
            found[key] = found.get(key, 0.0) + value
        return found


def parse(texts: Mapping[str, str | None]) -> Metrics:
    """Exposition texts by service (None: the service did not answer)."""
    samples: dict[str, dict[Labels, float]] = {}
    for text in texts.values():
        for family in text_string_to_metric_families(text or ""):
            for sample in family.samples:
                series = samples.setdefault(sample.name, {})
                key = frozenset(sample.labels.items())
                # Summed: the moderation and the publisher both count dead letters.
                series[key] = series.get(key, 0.0) + sample.value
    return Metrics(samples, {name: text is not None for name, text in texts.items()})


def scrape(urls: Mapping[str, str], timeout: float = 3.0) -> Metrics:
    texts: dict[str, str | None] = {}
    with httpx.Client(timeout=timeout) as client:
        for name, url in urls.items():
            try:
                response = client.get(f"{url}/metrics")
                response.raise_for_status()
                texts[name] = response.text
            except httpx.HTTPError:
                texts[name] = None
    return parse(texts)


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """From cumulative bucket counts by upper bound, interpolated as Prometheus does."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # in the open-ended bucket: the highest finite bound
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower


def buckets(metrics: Metrics, name: str) -> dict[float, float]:
    return {float(le): v for le, v in metrics.by(f"{name}_bucket", "le").items()}


def window_buckets(before: Metrics, now: Metrics, name: str) -> dict[float, float]:
    """The window's observations when there were any, else everything since start."""
    current, earlier = buckets(now, name), buckets(before, name)
    delta = {le: count - earlier.get(le, 0.0) for le, count in current.items()}
    return delta if any(v > 0 for v in delta.values()) else current


def rate(before: Metrics, now: Metrics, name: str, **match: str) -> float:
    seconds = max(now.taken_at - before.taken_at, 1e-9)
    return max(now.total(name, **match) - before.total(name, **match), 0.0) / seconds


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def _mix(counts: Mapping[str, float]) -> str:
    total = sum(counts.values())
    if total <= 0:
        return "-"
    return "  ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(counts.items()) if v)


def render(before: Metrics, now: Metrics, wall_clock: float | None = None) -> list[str]:
    """The screen, one line per string."""
    clock = time.time() if wall_clock is None else wall_clock
    released = rate(before, now, "publisher_verdicts_applied_total", outcome="released")
    lines = [
        "services    " + "  ".join(f"{n} {'up' if ok else 'DOWN'}" for n, ok in now.up.items()),
        "",
        "per second  "
        + f"ingested {rate(before, now, 'comments_ingested_total'):.1f}  "
        + f"moderated {rate(before, now, 'moderation_verdicts_total'):.1f}  "
        + f"released {released:.1f}  "
        + f"dead-lettered {rate(before, now, 'dlq_messages_total'):.1f}",
        "verdicts    " + _mix(now.by("moderation_verdicts_total", "verdict")) + "  (since start)",
    ]
    for title, name in (
        ("to verdict", "moderation_decision_seconds"),
        ("to feed", "comment_release_seconds"),
        ("inference", "moderation_inference_seconds"),
    ):
        found = window_buckets(before, now, name)
        lines.append(
            f"{title:<12}"
            + "  ".join(
                f"p{round(q * 100)} {_seconds(quantile(q, found))}" for q in (0.5, 0.9, 0.99)
            )
        )
    lines += ["", "consumer lag"]
    lag = now.series("kafka_consumer_lag")
    lines += [
        f"  {dict(k)['group']} on {dict(k)['topic']}: {v:.0f}"
        for k, v in sorted(lag.items(), key=_group_topic)
    ] or ["  -"]
    depth = now.by("review_queue_depth", "tenant")
    oldest = now.series("review_queue_oldest_timestamp_seconds").values()
    waiting = f"oldest {_age(clock - min(oldest))}" if oldest else "none waiting"
    lines += ["", f"review queue {sum(depth.values()):.0f} held, {waiting}"]
    lines += [f"  {tenant}: {count:.0f}" for tenant, count in _top(depth)]
    dead = now.by("dlq_messages_total", "reason")
    lines += [
        "",
        "dead letters " + ("  ".join(f"{r} {v:.0f}" for r, v in sorted(dead.items())) or "-"),
    ]
    return lines


def _group_topic(item: tuple[Labels, float]) -> tuple[str, str]:
    labels = dict(item[0])
    return labels.get("group", ""), labels.get("topic", "")


def _top(counts: Mapping[str, float], n: int = 5) -> Iterable[tuple[str, float]]:
    return sorted(((t, c) for t, c in counts.items() if c > 0), key=lambda x: -x[1])[:n]
