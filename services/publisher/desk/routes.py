"""The desk's pages and actions under /moderate: server-rendered, enhanced by desk.js."""

import asyncio
import secrets
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from services.common.contract import Identifier, utc_now
from services.publisher import metrics
from services.publisher.desk import audit, events
from services.publisher.desk.audit import AuditEntry
from services.publisher.desk.auth import (
    DeskState,
    Signed,
    action_moderator,
    checked_sign_in,
    get_desk,
    page_moderator,
)
from services.publisher.desk.decisions import REJECT_CATEGORIES, Action, human_verdict
from services.publisher.desk.insights import DEFAULT_DAYS, MAX_DAYS, RANGES, load_insights
from services.publisher.desk.queue import Queue, Sort, decided_at_text, score_lines, waited
from services.publisher.desk.sessions import COOKIE, CSRF_FIELD, LOGIN_CSRF_COOKIE, tokens_match

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
TEMPLATES.env.globals.update(
    waited=waited,
    decided_at=decided_at_text,
    categories=REJECT_CATEGORIES,
    queues=list(Queue),
    sorts=list(Sort),
)
# Article links come from platforms: only web links are rendered as links.
TEMPLATES.env.tests["safe_url"] = lambda url: str(url).startswith(("https://", "http://"))
MAX_NOTE = 2000
MAX_BULK = 200

router = APIRouter(prefix="/moderate", include_in_schema=False)
DeskDep = Annotated[DeskState, Depends(get_desk)]
PageUser = Annotated[Signed, Depends(page_moderator)]
ActionUser = Annotated[Signed, Depends(action_moderator)]


def _tenant(signed: Signed, tenant: str | None) -> str:
    chosen = tenant or signed.account.tenants[0]
    signed.require_tenant(chosen)
    return chosen


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    error: Annotated[str | None, Query(max_length=200)] = None,
    next: Annotated[str, Query(max_length=2000)] = "/moderate",
) -> Response:
    return _login_form(request, error, next)


def _login_form(request: Request, error: str | None, next: str, status_code: int = 401) -> Response:
    token = secrets.token_urlsafe(32)
    context = {"csrf": token, "error": error, "next": _back(next)}
    response = TEMPLATES.TemplateResponse(
        request, "login.html", context, status_code=status_code if error else 200
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
async def login(
    request: Request,
    state: DeskDep,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/moderate",
) -> Response:
    # The sign-in form has no session yet: its token is checked against its own cookie.
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_form(request, "The form expired; please sign in again.", next)
    try:
        account = await checked_sign_in(request, username, password)
    except HTTPException as refused:  # throttled: the same page, with when to come back
        wait = (refused.headers or {}).get("Retry-After", "60")
        message = f"Too many failed sign-ins. Try again in {_minutes(int(wait))}."
        response = _login_form(request, message, next, status_code=refused.status_code)
        response.headers["Retry-After"] = wait
        return response
    if account is None:
        return _login_form(request, "Wrong user name or password.", next)
    token, _ = await state.sessions.create(account.username)
    for tenant in account.tenants:
        await audit.record(
            state.redis, tenant, AuditEntry(moderator=account.username, action="sign_in")
        )
    response = RedirectResponse(_back(next), status_code=303)
    _set_cookie(request, response, COOKIE, token, max_age=state.sessions.ttl_seconds)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/moderate")
    return response


@router.post("/logout")
async def logout(request: Request, state: DeskDep, signed: ActionUser) -> Response:
    await state.sessions.delete(request.cookies.get(COOKIE))
    response = RedirectResponse("/moderate/login", status_code=303)
    response.delete_cookie(COOKIE, path="/moderate")
    return response


@router.post("/logout-all")
async def logout_everywhere(request: Request, state: DeskDep, signed: ActionUser) -> Response:
    """End every session of this moderator, on every device (a lost laptop, a shared one)."""
    await state.sessions.end_all(signed.moderator)
    for tenant in signed.account.tenants:
        await audit.record(
            state.redis, tenant, AuditEntry(moderator=signed.moderator, action="sign_out_all")
        )
    response = RedirectResponse("/moderate/login", status_code=303)
    response.delete_cookie(COOKIE, path="/moderate")
    return response


@router.get("/moderators")
async def list_moderators(state: DeskDep, signed: PageUser) -> list[dict[str, Any]]:
    """Admins: the moderators who share a tenant with them."""
    signed.require_admin("managing moderators")
    mine = set(signed.account.tenants)
    return [
        {"username": a.username, "display_name": a.display_name, "tenants": a.tenants,
         "admin": a.admin}
        for a in await state.accounts.all()
        if mine & set(a.tenants)
    ]  # fmt: skip


@router.post("/moderators/{username}/signout")
async def sign_out_moderator(
    username: Identifier, state: DeskDep, signed: ActionUser
) -> dict[str, int]:
    """Admins: end every session of a moderator whose tenants are all theirs."""
    signed.require_admin("managing moderators")
    target = await state.accounts.get(username)
    if target is None or not set(target.tenants) <= set(signed.account.tenants):
        raise HTTPException(403, detail=f"not an admin of every tenant of {username!r}")
    ended = await state.sessions.end_all(username)
    for tenant in target.tenants:
        entry = AuditEntry(moderator=signed.moderator, action="sign_out_moderator",
                           details={"moderator": username})  # fmt: skip
        await audit.record(state.redis, tenant, entry)
    return {"sessions_ended": ended}


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    settings = get_desk(request).settings
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/moderate",
        httponly=True,
        samesite="strict",
        secure=settings.desk_secure_cookies or request.url.scheme == "https",
    )


@router.get("", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    state: DeskDep,
    signed: PageUser,
    tenant: Annotated[Identifier | None, Query()] = None,
    queue: Annotated[Queue, Query()] = Queue.HELD,
    article: Annotated[Identifier | None, Query()] = None,
    section: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[Sort, Query()] = Sort.OLDEST,
    decided: Annotated[str | None, Query(max_length=20000)] = None,
) -> Response:
    """`decided`: ids just decided from a form, offered for undo."""
    chosen = _tenant(signed, tenant)
    hidden = await state.pending.pending_ids(chosen)
    page = await state.desk.page(
        chosen, queue, article_id=article, section=section or None, sort=sort, hide=hidden
    )
    filters = {
        "tenant": chosen,
        "queue": queue,
        "article": article,
        "section": section,
        "sort": sort,
    }
    context = {
        "signed": signed,
        "tenant": chosen,
        "queue": queue,
        "page": page,
        "filters": filters,
        "query": lambda **changes: _query(filters, changes),
        "undo_seconds": state.settings.desk_undo_seconds,
        "decided": [i for i in (decided or "").split(",") if i in hidden],
    }
    return TEMPLATES.TemplateResponse(request, "queue.html", context)


@router.get("/insights", response_class=HTMLResponse)
async def insights_page(
    request: Request,
    state: DeskDep,
    signed: PageUser,
    tenant: Annotated[Identifier | None, Query()] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
) -> Response:
    """For editors: agreement with the machine, scores, the held queue, drift, models."""
    chosen = _tenant(signed, tenant)
    insights = await load_insights(
        state.redis, chosen, days, utc_now().date(), state.settings.insights_drift_points
    )
    context = {
        "signed": signed,
        "tenant": chosen,
        "here": "insights",
        "insights": insights,
        "ranges": sorted({*RANGES, days}),
    }
    return TEMPLATES.TemplateResponse(request, "insights.html", context)


def _query(filters: dict[str, Any], changes: dict[str, Any]) -> str:
    merged = {**filters, **changes}
    return "?" + urlencode({k: str(v) for k, v in merged.items() if v})


@router.get("/rows/{comment_id}", response_class=HTMLResponse)
async def queue_row(
    request: Request,
    comment_id: Identifier,
    state: DeskDep,
    signed: PageUser,
    tenant: Annotated[Identifier, Query()],
    queue: Annotated[Queue, Query()] = Queue.HELD,
    article: Annotated[Identifier | None, Query()] = None,
    section: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """One queue row, for a desk that learned of a new item live; 204 when it doesn't belong."""
    signed.require_tenant(tenant)
    item = await state.desk.item(tenant, comment_id)
    if (
        item is None
        or _queue_of(item.decision.verdict) is not queue
        or (article and item.decision.article_id != article)
        or (section and (item.article is None or item.article.section != section))
        or comment_id in await state.pending.pending_ids(tenant)
    ):
        return Response(status_code=204)
    return TEMPLATES.TemplateResponse(
        request, "_item.html", {"item": item, "tenant": tenant, "signed": signed}
    )


def _queue_of(verdict: str) -> Queue:
    return {"review": Queue.HELD, "approved": Queue.APPROVED}.get(verdict, Queue.REJECTED)


@router.get("/counts")
async def queue_counts(
    state: DeskDep, signed: PageUser, tenant: Annotated[Identifier, Query()]
) -> dict[str, int]:
    signed.require_tenant(tenant)
    counts = await state.desk.counts(tenant)
    return {queue.value: n for queue, n in counts.items()}


@router.get("/items/{comment_id}", response_class=HTMLResponse)
async def item_page(
    request: Request,
    comment_id: Identifier,
    state: DeskDep,
    signed: PageUser,
    tenant: Annotated[Identifier, Query()],
) -> Response:
    signed.require_tenant(tenant)
    item = await state.desk.item(tenant, comment_id)
    if item is None:
        raise HTTPException(404, detail=f"no comment {comment_id!r}")
    decision = item.decision
    document = await state.policies.document(tenant)
    policy = document.effective(item.article.section if item.article else None, decision.article_id)
    context = {
        "signed": signed,
        "tenant": tenant,
        "item": item,
        "queue": _queue_of(decision.verdict),
        "scores": score_lines(decision, policy),
        "history": await state.desk.history(tenant, comment_id),
        "recent": await state.desk.author_recent(tenant, decision.comment.author.id),
        "pending": comment_id in await state.pending.pending_ids(tenant),
        "undo_seconds": state.settings.desk_undo_seconds,
    }
    return TEMPLATES.TemplateResponse(request, "item.html", context)


class DecisionRequest(BaseModel):
    tenant: Identifier
    comment_ids: list[Identifier] = Field(min_length=1, max_length=MAX_BULK)
    action: Action
    category: str | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class UndoRequest(BaseModel):
    tenant: Identifier
    comment_ids: list[Identifier] = Field(min_length=1, max_length=MAX_BULK)


async def _payload(request: Request) -> dict[str, Any]:
    """JSON from desk.js, or the form itself when scripts are off."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        return body if isinstance(body, dict) else {}
    form = await request.form()
    return {
        "tenant": form.get("tenant"),
        "comment_ids": form.getlist("comment_ids"),
        "action": form.get("action"),
        "category": form.get("category") or None,
        "note": form.get("note") or None,
        "back": form.get("back"),
    }


@router.post("/decide")
async def decide(request: Request, state: DeskDep, signed: ActionUser) -> Response:
    """Schedule the decisions; they are published when the undo window has passed."""
    payload = await _payload(request)
    decision = DecisionRequest.model_validate(payload)
    signed.require_tenant(decision.tenant)
    if decision.action is Action.REJECT and decision.category not in REJECT_CATEGORIES:
        raise HTTPException(422, detail="category: choose one of the listed reasons to reject")
    wanted = list(dict.fromkeys(decision.comment_ids))
    states = await state.desk.items(decision.tenant, wanted)
    if len(states) != len(wanted):
        raise HTTPException(404, detail="some of these comments have no verdict yet")
    now = utc_now()
    verdicts = [
        human_verdict(
            item.decision, decision.action, signed.moderator, now, decision.category, decision.note
        )
        for item in states
    ]
    due_ms = int((time.time() + state.settings.desk_undo_seconds) * 1000)
    await state.pending.schedule(verdicts, due_ms)
    ids = [v.comment_id for v in verdicts]
    metrics.DESK_DECISIONS.labels(action=decision.action).inc(len(ids))
    await audit.record(
        state.redis,
        decision.tenant,
        AuditEntry(
            moderator=signed.moderator,
            action="decide",
            comment_ids=ids,
            details={
                "action": decision.action,
                "category": decision.category,
                "note": decision.note,
            },
        ),
    )
    await events.notify(
        state.redis,
        decision.tenant,
        {"type": "pending", "comment_ids": ids, "decided_by": signed.moderator},
    )
    if payload.get("back"):
        back = _back(str(payload["back"]))
        joiner = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{joiner}decided={','.join(ids)}", status_code=303)
    return JSONResponse(
        {"scheduled": ids, "undo_seconds": state.settings.desk_undo_seconds}, status_code=202
    )


def _back(url: str) -> str:
    """Only back into the desk: never an open redirect."""
    return url if url.startswith("/moderate") and not url.startswith("//") else "/moderate"


@router.post("/undo")
async def undo(request: Request, state: DeskDep, signed: ActionUser) -> dict[str, list[str]]:
    body = UndoRequest.model_validate(await _payload(request))
    signed.require_tenant(body.tenant)
    undone = await state.pending.undo(body.tenant, body.comment_ids)
    metrics.DESK_DECISIONS.labels(action="undo").inc(len(undone))
    if undone:
        await audit.record(
            state.redis,
            body.tenant,
            AuditEntry(moderator=signed.moderator, action="undo", comment_ids=undone),
        )
        await events.notify(
            state.redis,
            body.tenant,
            {"type": "restored", "comment_ids": undone, "decided_by": signed.moderator},
        )
    return {"undone": undone, "too_late": [i for i in body.comment_ids if i not in undone]}


@router.get("/events")
async def live_events(
    request: Request, state: DeskDep, signed: PageUser, tenant: Annotated[Identifier, Query()]
) -> StreamingResponse:
    signed.require_tenant(tenant)
    stop = asyncio.Event()

    async def frames() -> Any:
        async for frame in events.stream(state.redis, [tenant], stop, state.stopping):
            if await request.is_disconnected():
                stop.set()
            yield frame

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


def login_redirect(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/moderate/login?{urlencode({'next': target})}", status_code=303)


__all__ = ["CSRF_FIELD", "login_redirect", "router"]
