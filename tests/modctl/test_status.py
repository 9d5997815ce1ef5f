"""modctl status: percentiles from histogram buckets, and one snapshot of the running system."""

import re

import pytest

from services.common.contract import Topic
from services.modctl.cli import main
from services.modctl.status import parse, quantile, render
from tests.ops.traffic import send_traffic
from tests.processes import System

BEFORE = """
comments_ingested_total{tenant="a"} 10
moderation_verdicts_total{verdict="approved",reason="none"} 8
moderation_verdicts_total{verdict="review",reason="off_topic"} 2
comment_release_seconds_bucket{le="0.1"} 5
comment_release_seconds_bucket{le="1.0"} 8
comment_release_seconds_bucket{le="+Inf"} 8
"""
NOW = """
comments_ingested_total{tenant="a"} 30
moderation_verdicts_total{verdict="approved",reason="none"} 24
moderation_verdicts_total{verdict="review",reason="off_topic"} 6
comment_release_seconds_bucket{le="0.1"} 5
comment_release_seconds_bucket{le="1.0"} 24
comment_release_seconds_bucket{le="+Inf"} 24
kafka_consumer_lag{topic="comments.submitted",group="moderation"} 12
review_queue_depth{tenant="a"} 6
review_queue_oldest_timestamp_seconds{tenant="a"} 1000
dlq_messages_total{reason="invalid_json"} 2
"""


def test_quantiles_interpolate_within_buckets_as_prometheus_does() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.99, buckets) == pytest.approx(0.95)
    assert quantile(0.5, {float("inf"): 0.0}) is None


def test_snapshot_shows_rates_mix_latency_lag_queue_and_dead_letters() -> None:
    before = parse({"ingest": BEFORE, "moderation": None})
    now = parse({"ingest": NOW, "moderation": None})
    now = type(now)(now.samples, now.up, before.taken_at + 10)
    screen = "\n".join(render(before, now, wall_clock=1600))
    assert "ingest up  moderation DOWN" in screen
    assert "ingested 2.0  moderated 2.0" in screen
    assert "approved 80%  review 20%" in screen
    # Only the window's 16 releases count, all between 0.1 and 1 s.
    assert re.search(r"to feed\s+p50 0?55\dms", screen), screen
    assert "moderation on comments.submitted: 12" in screen
    assert "review queue 6 held, oldest 10m" in screen
    assert "dead letters invalid_json 2" in screen


@pytest.mark.kafka
@pytest.mark.e2e
def test_status_once_reads_the_running_services(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    send_traffic(system)
    code = main(
        [
            "status",
            "--once",
            "--interval",
            "0.5",
            "--ingest-url",
            system.ingest.url,
            "--moderation-url",
            system.moderation.url,
            "--publisher-url",
            system.publisher.url,
        ]
    )
    screen = capsys.readouterr().out
    assert code == 0
    assert "ingest up  moderation up  publisher up" in screen
    assert re.search(r"verdicts\s+approved \d+%", screen), screen
    assert re.search(r"to verdict\s+p50 \d", screen), screen
    assert f"on {system.kafka.topic(Topic.COMMENTS_SUBMITTED)}" in screen
    assert re.search(r"review queue [1-9]\d* held, oldest \d", screen), screen
    assert "invalid_json" in screen
