"""Traffic that exercises every metric the dashboards and alerts read.

Through ingest: an article and comments that are approved, held (off topic) and rejected or held
(abusive); straight to Kafka: records the worker must dead-letter, and a moderator's verdict.
"""

import asyncio
import json
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from services.common.contract import (
    Author,
    CommentModerated,
    CommentSubmitted,
    Reason,
    Scores,
    Topic,
    Verdict,
    utc_now,
)
from tests.conftest import unique
from tests.kafka_helpers import produce
from tests.processes import System, wait_for

ON_TOPIC = [
    "The city council should publish the full budget before the vote.",
    "Good to see the library funding restored after two years of cuts.",
    "How will the council pay for the new bus lanes next year?",
]
OFF_TOPIC = ["Check out my channel for free bitcoin", "Cheap watches, best prices, click here"]
ABUSIVE = "You are a fucking idiot, shut your stupid mouth"
ARTICLE = {
    "title": "City council passes the 2027 budget",
    "body": "The council voted 7-2 for a budget that restores library funding and adds bus lanes.",
}


def comment_state(system: System, tenant: str, comment_id: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{system.publisher.url}/v1/comments/{comment_id}", headers=system.headers(tenant)
    )
    return dict(response.json()) if response.status_code == 200 else None


def send_traffic(system: System) -> str:
    """Send it all and wait until the publisher has applied every verdict; returns the tenant."""
    tenant, article_id = unique("ops"), unique("budget")
    headers = system.headers(tenant)
    httpx.put(
        f"{system.ingest.url}/v1/articles/{article_id}", json=ARTICLE, headers=headers
    ).raise_for_status()
    # A mark of this call's own on each text: a repeated text is a score-cache hit, and the
    # engine's metrics must see new work each time.
    mark = unique("ref")
    bodies = {unique("c"): f"{body} ({mark})" for body in [*ON_TOPIC, *OFF_TOPIC, ABUSIVE]}
    batch = [
        {
            "article_id": article_id,
            "comment_id": comment_id,
            "author": {"id": "reader-1", "display_name": "Reader"},
            "body": body,
        }
        for comment_id, body in bodies.items()
    ]
    httpx.post(
        f"{system.ingest.url}/v1/comments", json={"comments": batch}, headers=headers, timeout=30
    ).raise_for_status()
    asyncio.run(produce(system.kafka, Topic.COMMENTS_SUBMITTED, poison_records(tenant)))
    states = {
        comment_id: wait_for(
            partial(comment_state, system, tenant, comment_id), what=f"a verdict on {comment_id}"
        )
        for comment_id in bodies
    }
    abusive = next(c for c, body in bodies.items() if body.startswith(ABUSIVE))
    verdict = moderator_approval(tenant, article_id, abusive, bodies[abusive], states[abusive])
    asyncio.run(produce(system.kafka, Topic.COMMENTS_MODERATED, [(abusive.encode(), verdict)]))
    wait_for(
        lambda: (
            True
            if (comment_state(system, tenant, abusive) or {}).get("decided_by") == "moderator-1"
            else None
        ),
        what="the moderator's verdict applied",
    )
    return tenant


def poison_records(tenant: str) -> list[tuple[bytes, bytes]]:
    """One record for each dead-letter reason: not JSON, not the event, a future schema."""
    future = {"schema_version": 99, "tenant_id": tenant, "comment_id": "c", "body": "x"}
    return [
        (unique("p").encode(), b"\x00not json"),
        (unique("p").encode(), json.dumps({"tenant_id": tenant, "body": 5}).encode()),
        (unique("p").encode(), json.dumps(future).encode()),
    ]


def moderator_approval(
    tenant: str, article_id: str, comment_id: str, body: str, state: dict[str, Any]
) -> bytes:
    """A moderator's verdict, as a moderation desk publishes it on comments.moderated."""
    submitted_at = datetime.fromisoformat(state["submitted_at"])
    comment = CommentSubmitted(
        tenant_id=tenant,
        article_id=article_id,
        comment_id=comment_id,
        author=Author(id="reader-1", display_name="Reader"),
        body=body,
        submitted_at=submitted_at,
    )
    decided_at = utc_now()
    verdict = CommentModerated(
        tenant_id=tenant,
        article_id=article_id,
        comment_id=comment_id,
        verdict=Verdict.APPROVED,
        # The desk's form: the moderator's reason, then the machine's (which it overrules).
        reasons=[
            Reason(code="moderator", label="approved"),
            *(Reason.model_validate(r) for r in state["reasons"]),
        ],
        scores=Scores.model_validate(state["scores"]),
        engine=state["engine"],
        model_version=state["model_version"],
        decided_by="moderator-1",
        decided_at=decided_at,
        submitted_at=submitted_at,
        latency_ms=(decided_at - submitted_at).total_seconds() * 1000,
        comment=comment,
    )
    return verdict.model_dump_json().encode()
