"""The verification snippet in the README works on what the service sends."""

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.webhooks.signing import sign

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier() -> Callable[..., bool]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (snippet,) = [b for b in blocks if "def verify_signature" in b]
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify_signature"]
    return verify


def test_the_readme_snippet_verifies_a_delivery_and_refuses_a_forgery() -> None:
    verify = readme_verifier()
    body = b'{"id":"evt_1","type":"released"}'
    now = int(time.time())
    header = sign(["old-secret-0123456789", "new-secret-0123456789"], now, body)
    assert verify("new-secret-0123456789", body, header, str(now))
    assert verify("old-secret-0123456789", body, header, str(now))
    assert not verify("other-secret-01234567", body, header, str(now))
    assert not verify("new-secret-0123456789", body + b"x", header, str(now))
    stale = now - 3600
    assert not verify(
        "new-secret-0123456789", body, sign(["new-secret-0123456789"], stale, body), str(stale)
    )
