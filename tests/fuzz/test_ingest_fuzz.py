"""Schemathesis against ingest's OpenAPI: whatever a client sends, no 500 and every answer
is documented (status, content type, body schema)."""

from typing import Any

import pytest
from schemathesis import Case
from schemathesis.specs.openapi.checks import ignored_auth

from services.common.settings import RedisSettings
from tests.conftest import unique
from tests.fuzz.fuzzing import fuzz, load
from tests.security.tenancy import as_tenant

pytestmark = [
    pytest.mark.kafka,
    # schemathesis' own strategies draw from `random` for some parameters; hypothesis warns.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
EXAMPLES = 40


def test_ingest_answers_every_request_as_documented(
    ingest_url: str, redis_settings: RedisSettings
) -> None:
    schema = load(ingest_url)
    tenant = as_tenant(unique("fuzz"), redis_settings.url)

    def call(case: Case[Any]) -> None:
        # The request carries a real key; which keys are refused is the isolation table's and
        # the auth tests' job (schemathesis cannot tell our fixed key from its generated ones).
        case.call_and_validate(timeout=30, excluded_checks=[ignored_auth])

    fuzzed = fuzz(schema, call, examples=EXAMPLES, headers=tenant)
    assert sorted(fuzzed) == ["POST /v1/comments", "PUT /v1/articles/{article_id}"]
