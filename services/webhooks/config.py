"""Each tenant's webhook endpoints: where to POST, which events, and the signing secrets."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from services.common import redis_keys
from services.common.redis_client import RedisClient, get_many

Secret = Annotated[str, StringConstraints(min_length=16, max_length=256)]


class EventType(StrEnum):
    RELEASED = "released"  # a comment entered its article's feed (feed.published)
    VERDICT = "verdict"  # every verdict, machine or moderator (comments.moderated)


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl
    events: list[EventType] = Field(min_length=1)
    # Every secret signs each delivery; list the new one next to the old while rotating.
    secrets: list[Secret] = Field(min_length=1, max_length=5)
    # Set by the service: events from this time on are delivered to the endpoint.
    configured_at: datetime | None = None

    def public(self) -> dict[str, object]:
        """What GET shows: secrets by their last four characters only."""
        return {
            "url": str(self.url),
            "events": [e.value for e in self.events],
            "secrets": [f"...{s[-4:]}" for s in self.secrets],
            "configured_at": self.configured_at.isoformat() if self.configured_at else None,
        }


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoints: list[Endpoint] = Field(default_factory=list)


class ConfigStore:
    def __init__(self, redis: RedisClient) -> None:
        self.redis = redis

    async def get(self, tenant: str) -> WebhookConfig:
        raw = await self.redis.get(redis_keys.webhooks(tenant))
        return WebhookConfig.model_validate_json(raw) if raw else WebhookConfig()

    async def put(self, tenant: str, config: WebhookConfig) -> WebhookConfig:
        """Store `config`; an endpoint already configured keeps the time it was first set up,
        a new one starts now."""
        before = {str(e.url): e.configured_at for e in (await self.get(tenant)).endpoints}
        now = datetime.now(UTC)
        stored = WebhookConfig(
            endpoints=[
                e.model_copy(update={"configured_at": before.get(str(e.url)) or now})
                for e in config.endpoints
            ]
        )
        await self.redis.set(redis_keys.webhooks(tenant), stored.model_dump_json())
        return stored

    async def subscribed(self, tenants: set[str], event: EventType) -> dict[str, list[Endpoint]]:
        """Tenant -> its endpoints that take `event`, for the tenants that have any (one read)."""
        names = sorted(tenants)
        if not names:
            return {}
        raws = await get_many(self.redis, [redis_keys.webhooks(t) for t in names])
        found: dict[str, list[Endpoint]] = {}
        for tenant, raw in zip(names, raws, strict=True):
            if raw:
                endpoints = WebhookConfig.model_validate_json(raw).endpoints
                if chosen := [e for e in endpoints if event in e.events]:
                    found[tenant] = chosen
        return found
