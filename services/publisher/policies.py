"""The policy API: read and change a tenant's policy and its overrides; every change recorded.

Changes take effect in the moderation worker within its policy cache time (two seconds)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel

from services.common.contract import Identifier, Reason, Scores, Verdict
from services.common.http import error_responses
from services.common.tenants import Scope
from services.moderation.policy import Policy, PolicyOverride
from services.moderation.policy_store import (
    TENANT_SCOPE,
    PolicyChange,
    PolicyDocument,
    article_scope,
    section_scope,
)
from services.publisher.callers import Caller, key_or_moderator
from services.publisher.desk import audit
from services.publisher.desk.audit import AuditEntry
from services.publisher.desk.auth import DeskState, get_desk
from services.publisher.routes import ViewsDep
from services.publisher.views import CommentViews

# Every route takes a moderator (HTTP Basic, throttled) of the tenant; changes need an admin.
router = APIRouter(prefix="/v1", responses=error_responses(401, 403, 413, 422, 429))
DeskDep = Annotated[DeskState, Depends(get_desk)]
# A key with `policy:write`, or a moderator of the tenant (an admin to change anything).
PolicyCaller = Annotated[Caller, Depends(key_or_moderator(Scope.POLICY_WRITE))]
# A key with `feed:read`, or a moderator of the tenant.
Reader = Annotated[Caller, Depends(key_or_moderator(Scope.FEED_READ))]
Tenant = Annotated[Identifier, Path()]
Section = Annotated[str, Path(min_length=1, max_length=200)]


# Overrides list only the rules they change.
@router.get("/policies/{tenant}", response_model=PolicyDocument, response_model_exclude_none=True)
async def get_policy(tenant: Tenant, state: DeskDep, caller: PolicyCaller) -> PolicyDocument:
    """The tenant's policy (`stored: false`: the defaults) and its overrides."""
    caller.require_tenant(tenant)
    return await state.policies.document(tenant)


@router.put("/policies/{tenant}", response_model=PolicyChange)
async def put_policy(
    tenant: Tenant, policy: Policy, state: DeskDep, caller: PolicyCaller
) -> PolicyChange:
    """Replace the tenant's policy; fields left out take their defaults."""
    return await _change(state, caller, tenant, TENANT_SCOPE, policy)


@router.put("/policies/{tenant}/sections/{section}", response_model=PolicyChange)
async def put_section(
    tenant: Tenant, section: Section, override: PolicyOverride, state: DeskDep, caller: PolicyCaller
) -> PolicyChange:
    return await _change(state, caller, tenant, section_scope(section), override)


@router.delete("/policies/{tenant}/sections/{section}", response_model=PolicyChange)
async def delete_section(
    tenant: Tenant, section: Section, state: DeskDep, caller: PolicyCaller
) -> PolicyChange:
    return await _change(state, caller, tenant, section_scope(section), None)


@router.put("/policies/{tenant}/articles/{article_id}", response_model=PolicyChange)
async def put_article(
    tenant: Tenant,
    article_id: Annotated[Identifier, Path()],
    override: PolicyOverride,
    state: DeskDep,
    caller: PolicyCaller,
) -> PolicyChange:
    """For example `{"closed": true}` closes an article's comments."""
    return await _change(state, caller, tenant, article_scope(article_id), override)


@router.delete("/policies/{tenant}/articles/{article_id}", response_model=PolicyChange)
async def delete_article(
    tenant: Tenant, article_id: Annotated[Identifier, Path()], state: DeskDep, caller: PolicyCaller
) -> PolicyChange:
    return await _change(state, caller, tenant, article_scope(article_id), None)


@router.get("/policies/{tenant}/changes", response_model=list[PolicyChange])
async def policy_changes(
    tenant: Tenant,
    state: DeskDep,
    caller: PolicyCaller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PolicyChange]:
    """Every change, newest first: who, when, before and after."""
    caller.require_tenant(tenant)
    return await state.policies.changes(tenant, limit)


async def _change(
    state: DeskState,
    caller: Caller,
    tenant: str,
    scope: str,
    value: Policy | PolicyOverride | None,
) -> PolicyChange:
    caller.require_tenant(tenant)
    caller.require_admin()
    change = await state.policies.put(tenant, scope, value, caller.name)
    entry = AuditEntry(moderator=caller.name, action="policy_change", details={"scope": scope})
    await audit.record(state.redis, tenant, entry)
    return change


@router.get("/audit/{tenant}", response_model=list[AuditEntry])
async def audit_log(
    tenant: Tenant,
    state: DeskDep,
    caller: PolicyCaller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """Every moderator action on the tenant, newest first."""
    caller.require_tenant(tenant)
    return await audit.read(state.redis, tenant, limit)


class HistoryEntry(BaseModel):
    verdict: Verdict
    decided_by: str
    decided_at: datetime
    reasons: list[Reason]
    scores: Scores
    engine: str
    model_version: str


@router.get(
    "/comments/{comment_id}/history",
    response_model=list[HistoryEntry],
    responses=error_responses(404),
)
async def comment_history(
    comment_id: Annotated[Identifier, Path()],
    views: ViewsDep,
    caller: Reader,
    tenant: Annotated[
        Identifier | None, Query(description="a key's own tenant when left out")
    ] = None,
) -> list[HistoryEntry]:
    """Every verdict the comment received, machine and human, oldest first."""
    chosen = caller.tenant(tenant)
    found = await _history(views, chosen, comment_id)
    if not found:
        raise HTTPException(404, detail=f"no verdict for comment {comment_id!r} yet")
    return found


async def _history(views: CommentViews, tenant: str, comment_id: str) -> list[HistoryEntry]:
    return [
        HistoryEntry.model_validate(d, from_attributes=True)
        for d in await views.history(tenant, comment_id)
    ]
