"""Signing outbound webhooks, and the check a receiver runs (copy `verify_signature`).

The signature is HMAC-SHA256 over `{timestamp}.{raw body}` with each of the endpoint's
secrets, sent as comma-separated `sha256=<hex>` entries (the format Coral Talk uses), so a
receiver rotating its secret accepts either during the change.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Moderation-Signature"
TIMESTAMP_HEADER = "X-Moderation-Timestamp"
EVENT_ID_HEADER = "X-Moderation-Event-Id"
EVENT_TYPE_HEADER = "X-Moderation-Event"
DELIVERY_HEADER = "X-Moderation-Delivery"
TOLERANCE_SECONDS = 300


def signed_content(timestamp: int, body: bytes) -> bytes:
    return str(timestamp).encode() + b"." + body


def sign(secrets: list[str], timestamp: int, body: bytes) -> str:
    """The signature header's value: one `sha256=<hex>` per secret."""
    content = signed_content(timestamp, body)
    return ",".join(
        "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
        for secret in secrets
    )


def verify_signature(
    secret: str,
    body: bytes,
    signature_header: str,
    timestamp_header: str,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when one of the header's signatures is ours and the timestamp is recent.

    Receivers: pass the raw request body (before any JSON parsing), the values of
    X-Moderation-Signature and X-Moderation-Timestamp, and your secret.
    """
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    content = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
    for entry in signature_header.split(","):
        scheme, _, value = entry.strip().partition("=")
        if scheme == "sha256" and hmac.compare_digest(value, expected):
            return True
    return False
