"""Who is asking: a desk session (cookie + CSRF token) or HTTP Basic for API clients."""

import asyncio
import base64
import binascii
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from services.common.redis_client import RedisClient
from services.common.replication import ReplicaBarrier
from services.moderation.policy import Policy
from services.moderation.policy_store import PolicyStore
from services.publisher.desk.accounts import Account, AccountStore
from services.publisher.desk.decisions import PendingDecisions
from services.publisher.desk.queue import Desk
from services.publisher.desk.sessions import (
    COOKIE,
    CSRF_HEADER,
    Session,
    SessionStore,
    tokens_match,
)
from services.publisher.desk.throttle import LoginThrottle, Throttled
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class DeskState:
    """What the desk's routes share; one per app, on `app.state.desk`."""

    redis: RedisClient
    settings: PublisherSettings
    accounts: AccountStore
    sessions: SessionStore
    desk: Desk
    pending: PendingDecisions
    policies: PolicyStore
    throttle: LoginThrottle
    # Set as the server begins to stop: open event streams end then, so the stop need not wait.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def create(
        cls,
        redis: RedisClient,
        views: CommentViews,
        settings: PublisherSettings,
        barrier: ReplicaBarrier,
    ) -> "DeskState":
        return cls(
            redis=redis,
            settings=settings,
            accounts=AccountStore(redis),
            sessions=SessionStore(redis, int(settings.desk_session_hours * 3600)),
            desk=Desk(redis, views),
            pending=PendingDecisions(redis, barrier),
            # No cache here: a moderator who just changed a policy sees it at once.
            policies=PolicyStore(redis, Policy(), cache_seconds=0.0),
            throttle=LoginThrottle(
                redis,
                per_account=settings.desk_login_max_failures,
                per_address=settings.desk_login_address_max_failures,
                window_seconds=settings.desk_login_window_seconds,
            ),
        )


@dataclass(frozen=True)
class Signed:
    account: Account
    session: Session | None  # None when signed by HTTP Basic

    @property
    def moderator(self) -> str:
        return self.account.username

    def require_tenant(self, tenant: str) -> None:
        if not self.account.may_work_on(tenant):
            raise HTTPException(403, detail=f"not a moderator of tenant {tenant!r}")

    def require_admin(self, what: str = "changing policies") -> None:
        if not self.account.admin:
            raise HTTPException(403, detail=f"{what} needs an admin moderator")


class NotSignedIn(Exception):
    """A desk page without a session: answered with a redirect to the sign-in page."""


def get_desk(request: Request) -> DeskState:
    return request.app.state.desk  # type: ignore[no-any-return]  # starlette State is untyped


async def session_moderator(request: Request) -> Signed | None:
    state = get_desk(request)
    session = await state.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return None
    account = await state.accounts.get(session.username)
    return Signed(account, session) if account else None


async def page_moderator(request: Request) -> Signed:
    signed = await session_moderator(request)
    if signed is None:
        raise NotSignedIn
    return signed


async def action_moderator(request: Request) -> Signed:
    """A desk action: a session, and its CSRF token in the header (scripts) or the form."""
    signed = await session_moderator(request)
    if signed is None or signed.session is None:
        raise HTTPException(401, detail="sign in at /moderate/login")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        given = str((await request.form()).get("csrf_token") or "")
    if not tokens_match(given, signed.session.csrf):
        raise HTTPException(403, detail="missing or wrong CSRF token")
    return signed


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy: uvicorn's --forwarded-allow-ips sets it)."""
    return request.client.host if request.client else "unknown"


async def checked_sign_in(request: Request, username: str, password: str) -> Account | None:
    """The account for a right password, through the sign-in throttle: raises 429 while the
    account or the address is throttled, whatever the password."""
    state = get_desk(request)
    address = client_address(request)
    try:
        await state.throttle.check(username, address)
    except Throttled as throttled:
        raise HTTPException(
            429,
            detail="too many failed sign-ins; try again later",
            headers={"Retry-After": str(throttled.seconds)},
        ) from None
    account = await state.accounts.verify(username, password)
    if account is None:
        await state.throttle.failed(username, address)
    else:
        await state.throttle.succeeded(username)
    return account


async def api_moderator(request: Request) -> Signed:
    """HTTP Basic for API clients; a desk session works too (with its CSRF header for writes)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise HTTPException(401, detail="malformed Basic credentials") from error
        account = await checked_sign_in(request, username, password)
        if account is None:
            raise HTTPException(401, detail="wrong user or password")
        return Signed(account, None)
    if request.method in SAFE_METHODS:
        signed = await session_moderator(request)
        if signed is None:
            raise HTTPException(401, detail="sign in, or send HTTP Basic credentials")
        return signed
    return await action_moderator(request)
