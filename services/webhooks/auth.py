"""Who is calling: the one dependency that turns a request's API key into its tenant.

Keys are the API keys of `modctl perspective-keys` (services/perspective/keys.py); swapping the
key scheme means changing `get_tenant` alone.
"""

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request

from services.perspective.keys import KeyStore


async def get_tenant(
    request: Request,
    key: Annotated[str | None, Query(description="API key")] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """The tenant of the key in `Authorization: Bearer`, `X-Api-Key` or `?key=`."""
    bearer = (
        authorization[7:].strip()
        if authorization and authorization[:7].lower() == "bearer "
        else None
    )
    given = bearer or x_api_key or key
    if not given:
        raise HTTPException(401, "missing API key", headers={"WWW-Authenticate": "Bearer"})
    store: KeyStore = request.app.state.keys
    found = await store.lookup(given)
    if found is None:
        raise HTTPException(403, "API key not valid")
    return found.tenant


TenantDep = Annotated[str, Depends(get_tenant)]
