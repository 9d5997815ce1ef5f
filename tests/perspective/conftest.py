"""The Perspective-compatible API as a real process against this session's Kafka and Redis."""

from collections.abc import Iterator

import pytest

from services.common.settings import KafkaSettings
from services.common.tenants import Scope
from services.modctl.processes import ServiceProcess, started
from services.modctl.testbed.processes import mint_key, service_env
from tests.conftest import unique

CORAL_SECRET = "coral-signing-secret"
CORAL_SECRETS = f'["{CORAL_SECRET}"]'


@pytest.fixture(scope="session")
def perspective(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[ServiceProcess]:
    env = {**service_env(kafka_settings, redis_url), "PERSPECTIVE_CORAL_SECRETS": CORAL_SECRETS}
    with started(ServiceProcess("perspective", env)) as service:
        yield service


def create_key(
    redis_url: str,
    tenant: str,
    quota_per_minute: int | None = None,
    scopes: frozenset[Scope] = frozenset({Scope.ANALYZE}),
) -> str:
    """A key of a (new) tenant with the `analyze` scope, as Perspective clients are given."""
    return mint_key(redis_url, tenant, scopes, requests_per_minute=quota_per_minute)


@pytest.fixture(scope="session")
def api_key(redis_url: str) -> str:
    return create_key(redis_url, unique("site"))
