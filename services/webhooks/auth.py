"""Who is calling: the tenant of the caller's API key. Webhook endpoints are the tenant's
configuration, so they take the same scope as its policy (`policy:write`)."""

from typing import Annotated

from fastapi import Depends

from services.common.auth import require
from services.common.tenants import ApiKey, Scope


async def get_tenant(key: Annotated[ApiKey, Depends(require(Scope.POLICY_WRITE))]) -> str:
    return key.tenant


TenantDep = Annotated[str, Depends(get_tenant)]
