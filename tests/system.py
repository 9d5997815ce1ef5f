"""One `system` per session: the three services as processes on free ports, against this
session's Kafka namespace; shared by the end-to-end and the operations tests (registered in
tests/conftest.py), so the model loads once."""

from collections.abc import Iterator

import pytest

from services.common.settings import KafkaSettings
from tests.processes import System, running_system


@pytest.fixture(scope="session")
def system(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[System]:
    with running_system(kafka_settings, redis_url) as system:
        yield system
