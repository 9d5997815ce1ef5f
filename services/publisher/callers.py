"""Who may call the policy, history and audit API: a tenant's API key with the route's scope,
or a moderator (HTTP Basic, or a desk session) of the tenant."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from services.common.auth import SentKey, get_auth, require_tenant
from services.common.tenants import ApiKey, Scope
from services.publisher.desk.auth import Signed, api_moderator


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None = None
    signed: Signed | None = None

    @property
    def name(self) -> str:
        """Who, for the audit log and the policy changes."""
        if self.signed is not None:
            return self.signed.moderator
        assert self.key is not None
        return f"key:{self.key.key_id}"

    def require_tenant(self, tenant: str) -> None:
        if self.key is not None:
            require_tenant(self.key, tenant)
        elif self.signed is not None:
            self.signed.require_tenant(tenant)

    def require_admin(self) -> None:
        """A key passed its scope check already; a moderator must be an admin."""
        if self.signed is not None:
            self.signed.require_admin()

    def tenant(self, asked: str | None) -> str:
        """The tenant named by the request, or the caller's only one."""
        if self.key is not None:
            chosen = asked or self.key.tenant
        elif asked:
            chosen = asked
        else:
            assert self.signed is not None
            tenants = self.signed.account.tenants
            if len(tenants) != 1:
                raise HTTPException(422, detail="tenant: name one of your tenants")
            chosen = tenants[0]
        self.require_tenant(chosen)
        return chosen


def key_or_moderator(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A key when one is sent (never falling back to a session then), else a moderator."""

    async def dependency(request: Request, given: SentKey) -> Caller:
        if given:
            return Caller(key=await get_auth(request).authenticate(given, scope))
        return Caller(signed=await api_moderator(request))

    return dependency
