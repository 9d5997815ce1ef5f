"""`modctl soak`: a long stream of comments through a bed of its own (Kafka, Redis, the three
services), with faults injected at seeded random times, ending with the count of what became
of every comment."""

import asyncio
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.common.settings import KafkaSettings
from services.common.topics import ensure_topics
from services.modctl.processes import DATA, ServiceProcess
from services.modctl.testbed.infra import LocalKafka, LocalRedis, new_kafka, new_redis
from services.modctl.testbed.processes import System, running_system
from services.modctl.testbed.stream import Stream, Tally, count

FAULTS = ("kill-worker", "kill-publisher", "stop-worker", "redis-outage", "kafka-outage")
EXPECTED_PER_SECOND = 80.0  # a rough pace on 2 cores, to spread the faults over the run


@dataclass
class Bed:
    kafka: LocalKafka
    redis: LocalRedis
    system: System


def restart(service: ServiceProcess, sig: int) -> None:
    service.stop(sig)
    service.start()
    service.wait_ready()


def inject(bed: Bed, fault: str, rng: random.Random) -> None:
    """One fault, and the recovery an operator (or an orchestrator) would do."""
    outage = rng.uniform(3.0, 10.0)
    if fault == "kill-worker":
        restart(bed.system.moderation, signal.SIGKILL)
    elif fault == "kill-publisher":
        restart(bed.system.publisher, signal.SIGKILL)
    elif fault == "stop-worker":
        restart(bed.system.moderation, signal.SIGTERM)
    elif fault == "redis-outage":
        bed.redis.stop()
        time.sleep(outage)  # the outage itself
        bed.redis.start()
    elif fault == "kafka-outage":
        bed.kafka.stop()
        time.sleep(outage)
        bed.kafka.start()


def schedule(rng: random.Random, comments: int, faults: int) -> list[tuple[float, str]]:
    """Fault times spread over the run's expected length, in order."""
    length = comments / EXPECTED_PER_SECOND
    return sorted((rng.uniform(0.1, 0.8) * length, rng.choice(FAULTS)) for _ in range(faults))


def run_soak(comments: int, seed: int, faults: int, say: Callable[[str], None]) -> Tally:
    rng = random.Random(seed)
    root = DATA / "soak" / datetime.now(UTC).strftime(f"%Y%m%dT%H%M%S-seed{seed}")
    kafka, redis = new_kafka(root / "kafka"), new_redis(root / "redis")
    say(f"bed in {root}: Kafka {kafka.bootstrap}, Redis {redis.url}")
    kafka.start()
    redis.start()
    try:
        settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, namespace="soak.")
        asyncio.run(ensure_topics(settings))
        with running_system(settings, redis.url, log_dir=root / "logs") as system:
            bed = Bed(kafka, redis, system)
            stream = Stream(system, "soak", f"soak-{seed}", comments)
            stream.create_article()
            began = time.monotonic()
            stream.start()
            for at, fault in schedule(rng, comments, faults):
                while time.monotonic() - began < at:
                    time.sleep(0.2)  # waiting for the scheduled moment
                say(f"{time.monotonic() - began:6.1f}s  {fault}  (posted {stream.posted})")
                inject(bed, fault, rng)
            stream.join()
            say(f"{time.monotonic() - began:6.1f}s  all {comments} posted; counting")
            return count(stream, within_seconds=max(300.0, comments / 20))
    finally:
        redis.stop()
        kafka.stop()
