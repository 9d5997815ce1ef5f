"""One signed POST of a delivery to its endpoint."""

import time
from dataclasses import dataclass

import httpx

from services.webhooks import signing
from services.webhooks.deliveries import Delivery

USER_AGENT = "comment-moderation-webhooks/1"


@dataclass(frozen=True)
class Response:
    status_code: int | None
    latency_ms: float
    error: str | None


async def post(client: httpx.AsyncClient, delivery: Delivery, secrets: list[str]) -> Response:
    """Signed now (the timestamp is per attempt); a timeout or refused connection is an error,
    not an exception. Redirects are not followed: a moved endpoint must be reconfigured."""
    body = delivery.payload.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(secrets, timestamp, body),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.EVENT_ID_HEADER: delivery.event_id,
        signing.EVENT_TYPE_HEADER: delivery.event_type.value,
        signing.DELIVERY_HEADER: delivery.id,
    }
    started = time.perf_counter()
    try:
        response = await client.post(delivery.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Response(None, _since(started), "timeout")
    except httpx.HTTPError as failure:
        return Response(None, _since(started), f"{type(failure).__name__}: {failure}"[:500])
    problem = None if response.is_success else f"HTTP {response.status_code}"
    return Response(response.status_code, _since(started), problem)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
