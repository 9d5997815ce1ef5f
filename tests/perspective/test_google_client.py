"""Google's own Python client, built from our discovery document, with no code of ours between."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from tests.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def build(service: ServiceProcess, key: str) -> Any:
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=f"{service.url}/$discovery/rest?version={{apiVersion}}",
        static_discovery=False,
        cache_discovery=False,
    )


@pytest.fixture
def client(perspective: ServiceProcess, api_key: str) -> Iterator[Any]:
    client = build(perspective, api_key)
    yield client
    client.close()


def test_official_sample_analyze(client: Any) -> None:
    body = {
        "comment": {"text": "friendly greetings from python"},
        "requestedAttributes": {"TOXICITY": {}},
        "clientToken": "sample",
    }
    response = client.comments().analyze(body=body).execute()
    summary = response["attributeScores"]["TOXICITY"]["summaryScore"]
    assert summary["type"] == "PROBABILITY"
    assert 0.0 <= summary["value"] < 0.5
    assert response["languages"] == ["en"]
    assert response["clientToken"] == "sample"


def test_suggestscore_is_recorded(client: Any) -> None:
    body = {
        "comment": {"text": "a comment the reader thinks is fine"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.05}}},
        "clientToken": "suggested",
    }
    response = client.comments().suggestscore(body=body).execute()
    assert response["clientToken"] == "suggested"


def test_bad_key_is_an_http_error(perspective: ServiceProcess) -> None:
    # The discovery document is public; the call itself is refused.
    bad = build(perspective, "mk_wrong")
    try:
        body = {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
        with pytest.raises(HttpError) as raised:
            bad.comments().analyze(body=body).execute()
    finally:
        bad.close()
    assert raised.value.resp.status == 401


def test_unknown_attribute_is_an_http_400(client: Any) -> None:
    body = {"comment": {"text": "hi"}, "requestedAttributes": {"SEXUALLY_EXPLICIT": {}}}
    with pytest.raises(HttpError) as raised:
        client.comments().analyze(body=body).execute()
    assert raised.value.resp.status == 400
    assert "SEXUALLY_EXPLICIT" in str(raised.value)


def test_discovery_names_our_url_and_reaches_every_schema(
    perspective: ServiceProcess, api_key: str
) -> None:
    url = f"{perspective.url}/$discovery/rest"
    document = httpx.get(url, params={"version": "v1alpha1", "key": api_key, "alt": "json"}).json()
    assert document["rootUrl"] == f"{perspective.url}/"
    assert document["servicePath"] == ""
    methods = document["resources"]["comments"]["methods"]
    assert set(methods) == {"analyze", "suggestscore"}
    refs: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            refs.update([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs <= set(document["schemas"])
    assert methods["analyze"]["path"] == "v1alpha1/comments:analyze"
    assert methods["analyze"]["httpMethod"] == "POST"
