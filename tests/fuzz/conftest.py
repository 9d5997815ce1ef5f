"""The services in this process on free ports (uvicorn on a thread of its own, so the app's
Kafka and Redis clients live on the loop that serves them), for schemathesis to fuzz."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI

from services.common.settings import KafkaSettings, RedisSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.publisher.app import create_app as create_publisher
from services.publisher.settings import PublisherSettings
from tests.processes import free_port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"{app.title} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def ingest_url(kafka_settings: KafkaSettings, redis_settings: RedisSettings) -> Iterator[str]:
    with serving(create_ingest(IngestSettings(kafka=kafka_settings, redis=redis_settings))) as url:
        yield url


@pytest.fixture(scope="module")
def publisher_url(kafka_settings: KafkaSettings, redis_settings: RedisSettings) -> Iterator[str]:
    settings = PublisherSettings(kafka=kafka_settings, redis=redis_settings)
    with serving(create_publisher(settings)) as url:
        yield url
