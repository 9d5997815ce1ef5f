"""Crashes and outages mid-stream: every comment gets exactly one place, none twice, none lost."""

import json
import os
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.modctl.bench.procstats import descendants, stat_fields
from services.modctl.testbed.stream import Stream, Tally, count
from tests.conftest import unique
from tests.faults.conftest import FaultBed
from tests.processes import ServiceProcess, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.faults]


def new_stream(bed: FaultBed, total: int) -> Stream:
    stream = Stream(bed.system, unique("fault"), unique("a"), total)
    stream.create_article()
    return stream


def assert_complete(tally: Tally, stream: Stream) -> None:
    summary = tally.line()
    assert tally.submitted == stream.total, summary
    assert tally.lost == 0, summary
    assert tally.duplicates == 0, summary
    assert tally.verdicts == stream.total, summary
    assert tally.released + tally.held + tally.rejected == stream.total, summary


def verdicts_so_far(bed: FaultBed) -> float:
    text = httpx.get(f"{bed.system.moderation.url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("moderation_verdicts_total{")
    )


def wait_until_working(bed: FaultBed, at_least: float) -> None:
    wait_for(
        lambda: True if verdicts_so_far(bed) >= at_least else None, what="the worker to be busy"
    )


def test_worker_killed_mid_stream_is_restarted_without_loss(bed: FaultBed) -> None:
    stream = new_stream(bed, 2000)
    start = verdicts_so_far(bed)
    stream.start()
    wait_until_working(bed, start + 200)
    bed.system.moderation.stop(signal.SIGKILL)
    bed.system.moderation.start()
    bed.system.moderation.wait_ready()
    stream.join()
    assert_complete(count(stream), stream)


def test_inference_process_killed_mid_stream_loses_nothing(bed: FaultBed) -> None:
    """The model's child process dies (an OOM kill, say): the batch it was scoring fails, is
    retried on a fresh child, and the stream completes; a worker killed outright takes its
    child with it."""
    worker = bed.system.moderation
    assert worker.process is not None
    child = inference_process(worker.process.pid)
    stream = new_stream(bed, 1000)
    start = verdicts_so_far(bed)
    stream.start()
    wait_until_working(bed, start + 100)
    os.kill(child, signal.SIGKILL)
    stream.join()
    assert_complete(count(stream), stream)
    ready = httpx.get(f"{worker.url}/health/ready").json()
    assert ready["status"] == "ok", ready
    replacement = inference_process(worker.process.pid)
    assert replacement != child
    worker.stop(signal.SIGKILL)
    wait_for(lambda: True if _gone(replacement) else None, what="the orphaned child to exit")
    worker.start()
    worker.wait_ready()


def inference_process(worker: int) -> int:
    """The worker's model process (multiprocessing also starts a resource tracker beside it)."""
    (child,) = [
        pid
        for pid in descendants(worker)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes() and not _gone(pid)
    ]
    return child


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting to be reaped."""
    try:
        return stat_fields(pid)[0] == "Z"
    except FileNotFoundError:
        return True


def test_publisher_killed_mid_stream_releases_each_once(bed: FaultBed) -> None:
    stream = new_stream(bed, 1000)
    stream.start()
    wait_for(lambda: True if stream.posted >= 500 else None, what="half the stream posted")
    bed.system.publisher.stop(signal.SIGKILL)
    bed.system.publisher.start()
    bed.system.publisher.wait_ready()
    stream.join()
    assert_complete(count(stream), stream)


def log_since(service: ServiceProcess, offset: int) -> list[dict[str, Any]]:
    """The service's JSON log entries after byte `offset` of its log."""
    with service.log.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").split("\n")[:-1]  # the last may be partial
    return [json.loads(line) for line in lines if line.startswith('{"ts"')]


def outage_told(service: ServiceProcess, offset: int) -> list[dict[str, Any]] | None:
    """The service's log since `offset`, once it told of an outage and of each outage's end."""
    entries = log_since(service, offset)
    told = [e["msg"] for e in entries if e["logger"] == "services.common.kafka_outage"]
    began = sum(m.startswith("Kafka unreachable") for m in told)
    ended = sum(m.startswith("Kafka reachable again") for m in told)
    return entries if began >= 1 and ended == began else None


def test_kafka_restarted_mid_stream_ingest_refuses_then_recovers(bed: FaultBed) -> None:
    offsets = {s.name: s.log.stat().st_size for s in bed.system.all()}
    stream = new_stream(bed, 1000)
    stream.post(0, 500)
    bed.kafka.stop()
    response = httpx.post(
        f"{bed.system.ingest.url}/v1/comments",
        headers=bed.system.headers(stream.tenant),
        timeout=30,
        json={
            "article_id": stream.article_id,
            "author": {"id": "x", "display_name": "X"},
            "body": "Posted while the event log is down.",
        },
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    stream.start(500, 1000)  # refused while Kafka is down, retried by the client
    wait_for(lambda: True if stream.refusals >= 1 else None, what="a refused batch")
    bed.kafka.start()
    stream.join()
    assert_complete(count(stream), stream)
    # The outage is two warnings in each service's log, not aiokafka's connection errors.
    for service in bed.system.all():
        entries = wait_for(
            partial(outage_told, service, offsets[service.name]),
            timeout=30,
            what=f"{service.name} to log the outage and its end",
        )
        errors = [
            e for e in entries if e["level"] == "error" and e["logger"].startswith("aiokafka")
        ]
        assert errors == [], (service.name, errors[:3])


def test_redis_down_for_ten_seconds_loses_nothing(bed: FaultBed) -> None:
    stream = new_stream(bed, 1000)
    start = verdicts_so_far(bed)
    stream.start()
    wait_until_working(bed, start + 100)
    bed.redis.stop()
    down_since = time.monotonic()
    wait_for(
        lambda: True if time.monotonic() - down_since >= 10 else None,
        timeout=15,
        what="ten seconds of outage",
    )
    bed.redis.start()
    stream.join()
    assert_complete(count(stream), stream)
    for service in bed.system.all():
        ready = httpx.get(f"{service.url}/health/ready").json()
        assert ready["status"] == "ok", (service.name, ready)


def test_one_of_two_workers_killed_the_other_takes_over(bed: FaultBed) -> None:
    second = ServiceProcess("moderation", bed.system.moderation.env)
    second.start()
    second.wait_ready()
    try:
        stream = new_stream(bed, 2000)
        start = verdicts_so_far(bed)
        stream.start()
        wait_until_working(bed, start + 200)
        second.stop(signal.SIGKILL)
        stream.join()
        assert_complete(count(stream), stream)
    finally:
        second.stop()
