"""PUT/GET /v1/webhooks (the tenant's endpoints) and the delivery log."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from services.common.http import InvalidRequest
from services.webhooks.auth import TenantDep
from services.webhooks.config import ConfigStore, WebhookConfig
from services.webhooks.deliveries import DeliveryStore
from services.webhooks.settings import WebhookSettings
from services.webhooks.targets import literal_refusal

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _configs(request: Request) -> ConfigStore:
    return request.app.state.configs  # type: ignore[no-any-return]  # starlette State is untyped


def _deliveries(request: Request) -> DeliveryStore:
    return request.app.state.deliveries  # type: ignore[no-any-return]


@router.put("")
async def put_webhooks(config: WebhookConfig, tenant: TenantDep, request: Request) -> Any:
    """Replace the tenant's endpoints; each takes `released` and/or `verdict` events."""
    settings: WebhookSettings = request.app.state.settings
    if len(config.endpoints) > settings.max_endpoints:
        message = f"at most {settings.max_endpoints} endpoints"
        raise InvalidRequest([{"field": "endpoints", "message": message}])
    urls = [str(e.url) for e in config.endpoints]
    if not settings.allow_private_urls:
        for n, url in enumerate(urls):
            if reason := literal_refusal(url):
                message = f"{reason} is not allowed (WEBHOOKS_ALLOW_PRIVATE_URLS)"
                raise InvalidRequest([{"field": f"endpoints.{n}.url", "message": message}])
    if len(set(urls)) != len(urls):
        raise InvalidRequest([{"field": "endpoints", "message": "each url at most once"}])
    stored = await _configs(request).put(tenant, config)
    return {"tenant_id": tenant, "endpoints": [e.public() for e in stored.endpoints]}


@router.get("")
async def get_webhooks(tenant: TenantDep, request: Request) -> Any:
    config = await _configs(request).get(tenant)
    return {"tenant_id": tenant, "endpoints": [e.public() for e in config.endpoints]}


@router.get("/deliveries")
async def list_deliveries(
    tenant: TenantDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100, pattern=r"^\d{13}:[0-9a-f]+$")] = None,
) -> Any:
    """Newest first; each with its attempts (status code, latency, error, next retry)."""
    found, next_cursor = await _deliveries(request).page(tenant, limit, cursor)
    return {"deliveries": [d.public() for d in found], "next_cursor": next_cursor}


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: str, tenant: TenantDep, request: Request) -> Any:
    delivery = await _deliveries(request).get(tenant, delivery_id)
    if delivery is None:
        raise HTTPException(404, "no such delivery")
    return delivery.public()
