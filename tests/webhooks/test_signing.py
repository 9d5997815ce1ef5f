"""The receivers' helper, the retry schedule and refused targets, without Kafka or Redis."""

import hashlib
import hmac

from services.webhooks.settings import default_schedule
from services.webhooks.signing import sign, verify_signature
from services.webhooks.targets import literal_refusal, resolved_refusal

BODY = b'{"id":"evt_1","type":"verdict"}'


def test_verify_signature_accepts_either_secret_and_refuses_tampering() -> None:
    header = sign(["first-secret-xxxxxxxx", "second-secret-xxxxxxx"], 1_800_000_000, BODY)
    for secret in ("first-secret-xxxxxxxx", "second-secret-xxxxxxx"):
        assert verify_signature(secret, BODY, header, "1800000000", now=1_800_000_010)
    assert not verify_signature("wrong-secret-xxxxxxxx", BODY, header, "1800000000", now=1.8e9)
    assert not verify_signature(
        "first-secret-xxxxxxxx", BODY + b" ", header, "1800000000", now=1.8e9
    )
    # The timestamp is signed: moving it breaks the signature; an old one is a replay.
    assert not verify_signature("first-secret-xxxxxxxx", BODY, header, "1800000001", now=1.8e9)
    assert not verify_signature(
        "first-secret-xxxxxxxx", BODY, header, "1800000000", now=1_800_000_000 + 301
    )
    assert not verify_signature("first-secret-xxxxxxxx", BODY, header, "soon", now=1.8e9)


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k" * 16, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(["k" * 16], 1_800_000_000, BODY) == f"sha256={expected}"


def test_default_schedule_retries_for_at_least_an_hour_with_capped_doubling() -> None:
    schedule = default_schedule()
    assert schedule[:5] == [30, 60, 120, 240, 480]
    assert max(schedule) == 900
    assert sum(schedule) >= 3600
    assert sum(schedule[:-1]) < 3600  # no longer than needed


async def test_private_and_local_targets_are_refused() -> None:
    assert literal_refusal("http://10.0.0.5/hook")
    assert literal_refusal("http://localhost:8080/hook")
    assert literal_refusal("https://93.184.215.14/hook") is None
    assert literal_refusal("https://hooks.example.org/x") is None  # names: at each attempt
    assert await resolved_refusal("http://localhost/hook")
