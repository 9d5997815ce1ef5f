"""The fault suite runs the services against a Kafka broker and a Redis of its own, so it can
stop, kill and restart every part without disturbing anything else."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.settings import KafkaSettings
from services.common.topics import ensure_topics
from services.modctl.testbed.infra import LocalKafka, LocalRedis, new_kafka, new_redis
from tests.conftest import unique
from tests.processes import System, running_system


@dataclass
class FaultBed:
    kafka: LocalKafka
    redis: LocalRedis
    system: System


@pytest.fixture(scope="session")
def fault_bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultBed]:
    root: Path = tmp_path_factory.mktemp("faults")
    kafka, redis = new_kafka(root / "kafka"), new_redis(root / "redis")
    kafka.start()
    redis.start()
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, namespace=f"{unique('faults')}.")
    asyncio.run(ensure_topics(settings))
    try:
        # A Kafka outage is logged as over after 2 s without a connection error (default 10 s),
        # so a test can read both of its warnings without waiting long.
        quiet = {"KAFKA_OUTAGE_QUIET_SECONDS": "2"}
        with running_system(settings, redis.url, extra_env=quiet) as system:
            yield FaultBed(kafka, redis, system)
    finally:
        redis.stop()
        kafka.stop()


@pytest.fixture
def bed(fault_bed: FaultBed) -> FaultBed:
    """Each test starts with every service running and leaves them running."""
    for service in fault_bed.system.all():
        if service.process is None or service.process.poll() is not None:
            service.start()
            service.wait_ready()
    return fault_bed
