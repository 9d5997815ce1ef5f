"""How a test request says which tenant it acts for: the one place to change when requests
authenticate with API keys (`Authorization: Bearer <key>`) instead of naming the tenant."""


def as_tenant(tenant: str) -> dict[str, str]:
    """Request headers that make ingest act for `tenant`."""
    return {"X-Tenant": tenant}
