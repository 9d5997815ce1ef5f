"""Coral Talk's external moderation phase: signed requests, verdicts, and the pipeline."""

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from services.common.contract import CommentSubmitted, Topic
from services.common.settings import KafkaSettings
from services.perspective.coral import ExternalModerationRequest, comment_id
from tests.conftest import unique
from tests.kafka_helpers import read_until
from tests.perspective.conftest import CORAL_SECRET
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def coral_request(body: str, role: str = "COMMENTER") -> dict[str, Any]:
    return {
        "action": "NEW",
        "comment": {"body": body, "parentID": None},
        "author": {"id": unique("u"), "role": role},
        "story": {"id": unique("story"), "url": "https://news.example/story"},
        "site": {"id": "site-1"},
        "tenantID": unique("coral"),
        "tenantDomain": "news.example",
    }


def sign(raw: bytes, *secrets: str) -> str:
    return ",".join(
        "sha256=" + hmac.new(s.encode(), raw, hashlib.sha256).hexdigest() for s in secrets
    )


def send(service: ServiceProcess, payload: dict[str, Any], signature: str | None) -> httpx.Response:
    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Coral-Signature"] = signature
    return httpx.post(f"{service.url}/v1/integrations/coral/moderate", content=raw, headers=headers)


def signed(service: ServiceProcess, payload: dict[str, Any]) -> httpx.Response:
    return send(service, payload, sign(json.dumps(payload).encode(), CORAL_SECRET))


def test_polite_comment_gets_no_opinion(perspective: ServiceProcess) -> None:
    response = signed(perspective, coral_request("Thanks for the reporting on the budget."))
    assert response.status_code == 204, response.text


def test_abusive_comment_is_flagged_toxic(perspective: ServiceProcess) -> None:
    response = signed(perspective, coral_request("You are a fucking idiot, shut your mouth"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] in {"REJECTED", "SYSTEM_WITHHELD"}
    assert answer["actions"] == [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]


def test_staff_comments_are_not_held(perspective: ServiceProcess) -> None:
    response = signed(perspective, coral_request("You are a fucking idiot", role="STAFF"))
    assert response.json() == {"status": "APPROVED", "actions": [], "tags": []}


def test_any_valid_signature_during_rotation_is_accepted(perspective: ServiceProcess) -> None:
    payload = coral_request("A fair question.")
    raw = json.dumps(payload).encode()
    assert send(perspective, payload, sign(raw, "retired-secret", CORAL_SECRET)).status_code == 204


@pytest.mark.parametrize("signature", [None, "sha256=00", "sha256=" + "ab" * 32])
def test_unsigned_or_badly_signed_requests_are_refused(
    perspective: ServiceProcess, signature: str | None
) -> None:
    response = send(perspective, coral_request("hello"), signature)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_body_changed_after_signing_is_refused(perspective: ServiceProcess) -> None:
    payload = coral_request("original")
    signature = sign(json.dumps(payload).encode(), CORAL_SECRET)
    payload["comment"]["body"] = "changed"
    assert send(perspective, payload, signature).status_code == 401


async def test_coral_comment_enters_the_pipeline_keyed_by_coral_ids(
    perspective: ServiceProcess, kafka_settings: KafkaSettings
) -> None:
    payload = coral_request(f"A comment {unique('marker')} about the story.")
    async with httpx.AsyncClient() as http:
        raw = json.dumps(payload).encode()
        response = await http.post(
            f"{perspective.url}/v1/integrations/coral/moderate",
            content=raw,
            headers={"X-Coral-Signature": sign(raw, CORAL_SECRET)},
        )
    assert response.status_code == 204
    expected = comment_id(ExternalModerationRequest.model_validate(payload))
    values = await read_until(
        kafka_settings,
        Topic.COMMENTS_SUBMITTED,
        lambda values: any(expected.encode() in v for v in values),
    )
    event = next(CommentSubmitted.model_validate_json(v) for v in values if expected.encode() in v)
    assert (event.tenant_id, event.article_id) == (payload["tenantID"], payload["story"]["id"])
    assert event.author.id == payload["author"]["id"]
    assert event.body == payload["comment"]["body"]
