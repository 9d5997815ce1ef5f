"""`modctl perspective-keys create` prints a key that the running service accepts."""

import httpx
import pytest

from services.modctl.cli import main
from tests.conftest import unique
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def test_created_key_is_the_last_line_and_works(
    perspective: ServiceProcess,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["perspective-keys", "create", unique("site")]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    url = f"{perspective.url}/v1alpha1/comments:analyze"
    assert httpx.post(url, params={"key": key}, json=body).status_code == 200
