"""The Perspective-compatible API over HTTP, as sites' own code calls it."""

from typing import Any

import httpx
import pytest

from services.common.tenants import Scope
from services.perspective.settings import MAX_TEXT_BYTES
from tests.conftest import unique
from tests.perspective.conftest import create_key
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
ANALYZE = "/v1alpha1/comments:analyze"


def analyze(
    service: ServiceProcess, key: str, body: dict[str, Any], **params: str
) -> httpx.Response:
    return httpx.post(f"{service.url}{ANALYZE}", params={"key": key, **params}, json=body)


def request(text: str, **fields: Any) -> dict[str, Any]:
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, **fields}


def error(response: httpx.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    body = response.json()["error"]
    assert (body["code"], body["status"]) == (code, status)
    return str(body["message"])


def test_analyze_answers_in_perspective_shape(perspective: ServiceProcess, api_key: str) -> None:
    response = analyze(perspective, api_key, request("Thanks, a fair point.", clientToken="t-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    summary = body["attributeScores"]["TOXICITY"]["summaryScore"]
    assert summary["type"] == "PROBABILITY"
    assert 0.0 <= summary["value"] <= 1.0
    assert "spanScores" not in body["attributeScores"]["TOXICITY"]
    assert body["languages"] == ["en"]
    assert body["clientToken"] == "t-1"


def test_abuse_scores_above_a_polite_comment(perspective: ServiceProcess, api_key: str) -> None:
    def toxicity(text: str) -> float:
        body = analyze(perspective, api_key, request(text), alt="json").json()
        return float(body["attributeScores"]["TOXICITY"]["summaryScore"]["value"])

    assert toxicity("You are a fucking idiot, shut your stupid mouth") > 0.5
    assert toxicity("I enjoyed the article about the library.") < 0.5


def test_span_annotations_score_each_sentence(perspective: ServiceProcess, api_key: str) -> None:
    text = "The budget looks fine. You are a fucking idiot!  Thanks."
    body = analyze(perspective, api_key, request(text, spanAnnotations=True)).json()
    spans = body["attributeScores"]["TOXICITY"]["spanScores"]
    assert [text[s["begin"] : s["end"]] for s in spans] == [
        "The budget looks fine.",
        "You are a fucking idiot!",
        "Thanks.",
    ]
    assert all(s["score"]["type"] == "PROBABILITY" for s in spans)
    assert spans[1]["score"]["value"] > spans[0]["score"]["value"]


def test_the_default_engine_answers_every_perspective_attribute(
    perspective: ServiceProcess, api_key: str
) -> None:
    six = ["TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT"]
    text = "You fucking idiot, I will find you and hurt you."
    body = request(text, requestedAttributes={name: {} for name in six})
    scores = analyze(perspective, api_key, body).json()["attributeScores"]
    assert set(scores) == set(six)
    assert scores["TOXICITY"]["summaryScore"]["value"] > 0.5


def test_score_threshold_leaves_out_lower_scores(perspective: ServiceProcess, api_key: str) -> None:
    body = request("A calm remark.", requestedAttributes={"TOXICITY": {"scoreThreshold": 0.99}})
    assert analyze(perspective, api_key, body).json()["attributeScores"] == {}


def test_relevance_only_when_requested_with_context(
    perspective: ServiceProcess, api_key: str
) -> None:
    context = {"entries": [{"text": "The city council passed the 2027 budget for libraries."}]}
    attributes: dict[str, Any] = {"TOXICITY": {}, "RELEVANCE": {}}
    on_topic = request("Glad the library budget passed.", context=context)
    on_topic["requestedAttributes"] = attributes
    off_topic = {**on_topic, "comment": {"text": "Free bitcoin on my channel"}}
    scores = [
        analyze(perspective, api_key, b).json()["attributeScores"] for b in (on_topic, off_topic)
    ]
    assert (
        scores[0]["RELEVANCE"]["summaryScore"]["value"]
        > (scores[1]["RELEVANCE"]["summaryScore"]["value"])
    )
    plain = analyze(perspective, api_key, request("Glad it passed.", context=context)).json()
    assert set(plain["attributeScores"]) == {"TOXICITY"}


def test_key_may_come_as_a_header(perspective: ServiceProcess, api_key: str) -> None:
    url = f"{perspective.url}{ANALYZE}"
    for headers in ({"X-Goog-Api-Key": api_key}, {"Authorization": f"Bearer {api_key}"}):
        assert httpx.post(url, json=request("Hello"), headers=headers).status_code == 200


def test_missing_and_bad_keys_are_refused(perspective: ServiceProcess, redis_url: str) -> None:
    url = f"{perspective.url}{ANALYZE}"
    assert "missing" in error(httpx.post(url, json=request("Hi")), 401, "UNAUTHENTICATED")
    bad = analyze(perspective, "mk_not-a-key", request("Hi"))
    assert "not valid" in error(bad, 401, "UNAUTHENTICATED")
    ingest_only = create_key(redis_url, unique("site"), scopes=frozenset({Scope.INGEST}))
    wrong = analyze(perspective, ingest_only, request("Hi"))
    assert "analyze" in error(wrong, 403, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (request("Hi", requestedAttributes={"SEXUALLY_EXPLICIT": {}}), "SEXUALLY_EXPLICIT"),
        (request("Hi", requestedAttributes={"NOPE": {}}), "NOPE"),
        (request("Hi", languages=["xx"]), "xx"),
        (request(" "), "non-empty"),
        (request("a" * (MAX_TEXT_BYTES + 1)), "too long"),
        (request("Hi", requestedAttributes={}), "requestedAttributes"),
        (request("Hi", requestedAttributes={"RELEVANCE": {}}), "context"),
        ({"requestedAttributes": {"TOXICITY": {}}}, "comment"),
    ],
)
def test_bad_requests_are_invalid_argument(
    perspective: ServiceProcess, api_key: str, body: dict[str, Any], names: str
) -> None:
    assert names in error(analyze(perspective, api_key, body), 400, "INVALID_ARGUMENT")


def test_text_at_the_limit_is_accepted(perspective: ServiceProcess, api_key: str) -> None:
    assert analyze(perspective, api_key, request("a" * MAX_TEXT_BYTES)).status_code == 200


def test_quota_answers_429_with_retry_after(perspective: ServiceProcess, redis_url: str) -> None:
    key = create_key(redis_url, unique("small"), quota_per_minute=2)
    codes = [analyze(perspective, key, request("Hi")).status_code for _ in range(2)]
    assert codes == [200, 200]
    refused = analyze(perspective, key, request("Hi"))
    error(refused, 429, "RESOURCE_EXHAUSTED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
