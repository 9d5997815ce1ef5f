"""The webhook service as a real process against this session's Kafka and Redis."""

import json
from collections.abc import Callable, Iterator

import pytest

from services.common.settings import KafkaSettings
from services.modctl.processes import ServiceProcess
from services.modctl.testbed.processes import service_env

# Short retries so a whole schedule runs in about a second; a hang outlasts the timeout.
SCHEDULE = [0.3, 0.3, 0.3]
TIMEOUT_SECONDS = 1.0

StartWebhooks = Callable[..., ServiceProcess]


@pytest.fixture
def start_webhooks(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[StartWebhooks]:
    """Start a webhook service (stopped after the test); keyword arguments override settings."""
    started: list[ServiceProcess] = []

    def start(schedule: list[float] = SCHEDULE, **env: str) -> ServiceProcess:
        settings = {
            **service_env(kafka_settings, redis_url),
            "WEBHOOKS_RETRY_SCHEDULE_SECONDS": json.dumps(schedule),
            "WEBHOOKS_RETRY_JITTER": "0",
            "WEBHOOKS_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "WEBHOOKS_POLL_INTERVAL_SECONDS": "0.05",
            "WEBHOOKS_PENDING_REFRESH_SECONDS": "0.5",
            "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",  # the receivers run on this machine
            **env,
        }
        service = ServiceProcess("webhooks", settings)
        started.append(service)
        service.start()
        service.wait_ready()
        return service

    yield start
    for service in started:
        service.stop()
