"""Coral Talk's external moderation phase: a signed comment in, a verdict out within Coral's
timeout, and the comment into our pipeline (comments.submitted) for metrics, desk and audit."""

import asyncio
import hashlib
import hmac
import logging
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, ValidationError

from services.common.contract import Author, CommentSubmitted, Topic, Verdict, message_key
from services.moderation.policy import decide
from services.moderation.policy_store import PolicyStore
from services.perspective.errors import ApiError
from services.perspective.scorer import Job, Scorer
from services.perspective.settings import PerspectiveSettings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/integrations/coral")
# Their comments are never held by us (Coral's GQLUSER_ROLE values).
TRUSTED_ROLES = {"ADMIN", "MODERATOR", "STAFF"}
# Our reason codes Coral would call toxic; the rest (links, repeats, off topic) it calls spam.
TOXIC_CODES = {"toxicity", "banned_word", "suspect_word"}
PREMOD_CODES = {"premoderation", "new_author"}  # held by the site's rules, not for the text


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CoralComment(Model):  # field names as Coral sends them
    body: str
    parentID: str | None = None


class CoralAuthor(Model):
    id: str
    role: str = "COMMENTER"


class CoralStory(Model):
    id: str
    url: str | None = None


class CoralSite(Model):
    id: str


class ExternalModerationRequest(Model):
    action: str = "NEW"  # NEW or EDIT
    comment: CoralComment
    author: CoralAuthor
    story: CoralStory
    site: CoralSite | None = None
    tenantID: str
    tenantDomain: str | None = None


class CoralStatus(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PREMOD = "PREMOD"
    SYSTEM_WITHHELD = "SYSTEM_WITHHELD"


def signature_valid(body: bytes, header: str | None, secrets: list[str]) -> bool:
    """`sha256=<hex>` entries, comma-separated (several while Coral rotates its secret)."""
    if not header or not secrets:
        return False
    given = [part.strip().removeprefix("sha256=") for part in header.split(",")]
    expected = [hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets]
    return any(hmac.compare_digest(g, e) for g in given for e in expected)


def comment_id(request: ExternalModerationRequest) -> str:
    """Coral sends no id before the comment exists: the same request always maps to one id."""
    parts = [request.tenantID, request.story.id, request.author.id, request.comment.parentID or ""]
    digest = hashlib.sha256("\0".join([*parts, request.comment.body]).encode()).hexdigest()
    return f"coral-{digest[:32]}"


def coral_answer(verdict: Verdict, reason_codes: list[str]) -> dict[str, Any] | None:
    """Our verdict in Coral's terms; None (HTTP 204, no opinion) for an approved comment, so
    the site's own Coral rules still apply."""
    if verdict is Verdict.APPROVED:
        return None
    if verdict is Verdict.REVIEW and set(reason_codes) <= PREMOD_CODES:
        return {"status": CoralStatus.PREMOD, "actions": [], "tags": []}
    toxic = any(code in TOXIC_CODES for code in reason_codes)
    reason = "COMMENT_DETECTED_TOXIC" if toxic else "COMMENT_DETECTED_SPAM"
    status = CoralStatus.REJECTED if verdict is Verdict.REJECTED else CoralStatus.SYSTEM_WITHHELD
    return {"status": status, "actions": [{"actionType": "FLAG", "reason": reason}], "tags": []}


async def signed_request(
    request: Request, x_coral_signature: Annotated[str | None, Header()] = None
) -> ExternalModerationRequest:
    settings: PerspectiveSettings = request.app.state.settings
    secrets = [s.get_secret_value() for s in settings.coral_secrets]
    if not secrets:
        raise ApiError(404, "Coral moderation is not configured (PERSPECTIVE_CORAL_SECRETS).")
    body = await request.body()
    if not signature_valid(body, x_coral_signature, secrets):
        raise ApiError(401, "X-Coral-Signature is missing or does not match.")
    try:
        return ExternalModerationRequest.model_validate_json(body)
    except ValidationError as error:
        raise ApiError(400, f"Not an ExternalModerationRequest: {error.errors()[:3]}") from error


@router.post("/moderate", response_model=None)
async def moderate(
    coral: Annotated[ExternalModerationRequest, Depends(signed_request)], request: Request
) -> Response | dict[str, Any]:
    settings: PerspectiveSettings = request.app.state.settings
    scorer: Scorer = request.app.state.scorer
    tenant = settings.coral_tenant or coral.tenantID
    submitted = _submit(request.app.state.broker, settings, tenant, coral)
    if coral.author.role.upper() in TRUSTED_ROLES:
        await submitted
        return {"status": CoralStatus.APPROVED, "actions": [], "tags": []}
    policies: PolicyStore = request.app.state.policies
    policy = (await policies.cached(tenant)).effective(None, coral.story.id)
    # Scored while Kafka acknowledges the comment: Coral waits for the slower of the two only.
    result, _ = await asyncio.gather(scorer.score(Job([coral.comment.body])), submitted)
    verdict, reasons = decide(policy, result.scores[0], None, coral.comment.body)
    answer = coral_answer(verdict, [r.code for r in reasons])
    return Response(status_code=204) if answer is None else JSONResponse(answer)


async def _submit(
    broker: KafkaBroker,
    settings: PerspectiveSettings,
    tenant: str,
    coral: ExternalModerationRequest,
) -> None:
    """Into the pipeline, keyed by Coral's ids; Coral's answer does not wait on a slow Kafka."""
    event = CommentSubmitted(
        tenant_id=tenant,
        article_id=coral.story.id,
        comment_id=comment_id(coral),
        parent_id=coral.comment.parentID,
        author=Author(id=coral.author.id, display_name=coral.author.id),
        body=coral.comment.body,
    )
    topic = settings.kafka.topic(Topic.COMMENTS_SUBMITTED)
    try:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            await broker.publish(event, topic, key=message_key(event))
    except Exception as error:
        log.warning("coral comment not submitted", extra={"error": repr(error)})
