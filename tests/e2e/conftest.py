"""The three services as real processes on free ports, against this session's Kafka namespace."""

from collections.abc import Iterator

import pytest

from services.common.settings import KafkaSettings
from tests.processes import System, running_system


@pytest.fixture(scope="session")
def system(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[System]:
    with running_system(kafka_settings, redis_url) as system:
        yield system
