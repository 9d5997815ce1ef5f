"""How a test request acts for a tenant: with a key of that tenant, as a platform would."""

from services.modctl.testbed.processes import mint_key


def as_tenant(tenant: str, redis_url: str) -> dict[str, str]:
    """Request headers that make ingest act for `tenant` (the tenant and its key are created)."""
    return {"Authorization": f"Bearer {mint_key(redis_url, tenant)}"}
