"""Schemathesis against the publisher's OpenAPI (feeds, comment status, policies, audit), as
a signed-in admin moderator of one tenant: no 500, every answer documented."""

import asyncio
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from redis.asyncio import Redis
from schemathesis import Case, CheckFunction
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from services.publisher.desk.accounts import AccountStore
from tests.conftest import unique
from tests.fuzz.fuzzing import fuzz, load

pytestmark = [
    pytest.mark.kafka,
    # schemathesis' own strategies draw from `random` for some parameters; hypothesis warns.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
EXAMPLES = 15
PASSWORD = "fuzzing-password-1"


def desk_session(publisher_url: str, redis_url: str, tenant: str) -> dict[str, str]:
    """Headers of a signed-in admin of `tenant`: the session cookie and its CSRF token (one
    sign-in, not an argon2 check per request as HTTP Basic would cost)."""

    async def add() -> str:
        username = unique("fuzzer")
        async with Redis.from_url(redis_url) as redis:
            await AccountStore(redis).add(username, PASSWORD, [tenant], admin=True)
        return username

    username = asyncio.run(add())
    with httpx.Client(base_url=publisher_url) as desk:
        form = desk.get("/moderate/login").text
        login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert login_csrf
        signed = desk.post(
            "/moderate/login",
            data={"username": username, "password": PASSWORD, "csrf_token": login_csrf.group(1)},
        )
        assert signed.status_code == 303, signed.text
        page = desk.get("/moderate", params={"tenant": tenant}).text
        csrf = re.search(r'data-csrf="([^"]+)"', page)
        assert csrf
        return {
            "Cookie": f"desk_session={desk.cookies['desk_session']}",
            "X-CSRF-Token": csrf.group(1),
        }


def _semantic_refusal(response: Any) -> bool:
    if response.status_code != 422:
        return False
    errors = response.json().get("errors", [])
    return bool(errors) and all(
        e["field"] == "cursor" or e["message"].startswith("Value error") for e in errors
    )


def test_publisher_answers_every_request_as_documented(publisher_url: str, redis_url: str) -> None:
    tenant = unique("fuzz")
    headers = desk_session(publisher_url, redis_url, tenant)
    schema = load(publisher_url)

    def call(case: Case[Any]) -> None:
        response = case.call(timeout=30)
        # Rules a JSON schema cannot state (a cursor this service issued, a list entry that is
        # not only invisible characters, a regular expression that compiles) are refused with
        # 422 naming the field though the value fits the schema.
        excluded: list[CheckFunction] = [ignored_auth] + (
            [positive_data_acceptance] if _semantic_refusal(response) else []
        )
        case.validate_response(response, excluded_checks=excluded)

    fuzzed = fuzz(
        schema, call, examples=EXAMPLES, path_parameters={"tenant": tenant}, headers=headers
    )
    assert "PUT /v1/policies/{tenant}" in fuzzed
    assert "GET /v1/articles/{article_id}/comments" in fuzzed


def test_publisher_policy_sequences_stay_consistent(publisher_url: str, redis_url: str) -> None:
    """Stateful: sequences of calls linked by their parameters (put a policy or an override,
    read it back, delete it, read the changes), each answer checked as above."""
    tenant = unique("fuzz")
    headers = desk_session(publisher_url, redis_url, tenant)
    machine = load(publisher_url).as_state_machine()
    called: list[str] = []

    class Sequences(machine):  # type: ignore[misc,valid-type]  # built at run time
        def before_call(self, case: Case[Any]) -> None:
            if case.path_parameters and "tenant" in case.path_parameters:
                case.path_parameters["tenant"] = tenant

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            called.append(case.operation.label)
            return {"headers": headers, "timeout": 30}

        def validate_response(self, response: Any, case: Case[Any], **kwargs: Any) -> None:
            excluded: list[CheckFunction] = [ignored_auth] + (
                [positive_data_acceptance] if _semantic_refusal(response) else []
            )
            case.validate_response(response, excluded_checks=excluded, headers=headers)

    Sequences.run(
        settings=settings(
            max_examples=8,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
    assert len(called) >= 8
    assert any(label.startswith("PUT /v1/policies/{tenant}") for label in called)
