"""Stopping the publisher while a moderator's desk holds its live event stream open: the stream
ends at once and the process exits, rather than waiting out uvicorn's graceful timeout (30 s)."""

import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from services.common.settings import KafkaSettings
from tests.conftest import unique
from tests.e2e.desk_helpers import add_moderator, sign_in
from tests.processes import ServiceProcess, service_env

pytestmark = [pytest.mark.kafka]

EXIT_WITHIN_SECONDS = 10.0  # the graceful timeout is 30 s; a stream ends within about one


@pytest.fixture
def publisher(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[ServiceProcess]:
    service = ServiceProcess("publisher", service_env(kafka_settings, redis_url))
    service.start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop(signal.SIGKILL)


def test_sigterm_ends_open_event_streams_and_exits_promptly(
    publisher: ServiceProcess, redis_url: str
) -> None:
    moderator = add_moderator(redis_url, unique("tenant"))
    process = publisher.process
    assert process is not None
    with httpx.Client(base_url=publisher.url, timeout=EXIT_WITHIN_SECONDS) as client:
        sign_in(client, moderator)
        params = {"tenant": moderator.tenant}
        with client.stream("GET", "/moderate/events", params=params) as events:
            assert events.status_code == 200
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.iter_lines()
            assert next(lines) == "retry: 2000"  # the stream is open and being served

            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=EXIT_WITHIN_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the publisher still runs {EXIT_WITHIN_SECONDS} s after SIGTERM")
            took = time.monotonic() - began

            # The rest of the response was complete: a cut-off chunked body raises here.
            rest = list(lines)
    assert process.returncode in (0, -signal.SIGTERM)
    assert took < EXIT_WITHIN_SECONDS
    assert all(line in ("", ": keep-alive") for line in rest), rest
    log = publisher.log.read_text().rpartition(f"Started server process [{process.pid}]")[2]
    assert "Application shutdown complete" in log
    assert "timeout graceful shutdown exceeded" not in log
