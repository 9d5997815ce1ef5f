"""`modctl tenants create` and `modctl keys create --scopes analyze` print a key that the
running Perspective service accepts; a key without the scope is refused."""

import httpx
import pytest

from services.modctl.cli import main
from tests.conftest import unique
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
BODY = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}


def create(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["keys", "create", *argv]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_created_key_is_the_last_line_and_works_with_its_scope(
    perspective: ServiceProcess,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    site = unique("site")
    assert main(["tenants", "create", site]) == 0
    key = create(capsys, site, "--scopes", "analyze")
    ingest_key = create(capsys, site, "--scopes", "ingest")
    url = f"{perspective.url}/v1alpha1/comments:analyze"
    assert httpx.post(url, params={"key": key}, json=BODY).status_code == 200
    assert httpx.post(url, params={"key": ingest_key}, json=BODY).status_code == 403
