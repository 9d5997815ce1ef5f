"""The audit log: every moderator action, per tenant, newest first, kept with the data."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.common import redis_keys
from services.common.contract import utc_now
from services.common.redis_client import RedisClient


class AuditEntry(BaseModel):
    at: datetime = Field(default_factory=utc_now)
    moderator: str
    action: str  # sign_in, decide, undo, policy_change
    comment_ids: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


async def record(redis: RedisClient, tenant: str, entry: AuditEntry) -> None:
    await redis.lpush(redis_keys.audit(tenant), entry.model_dump_json())


async def read(redis: RedisClient, tenant: str, limit: int = 100) -> list[AuditEntry]:
    raw = await redis.lrange(redis_keys.audit(tenant), 0, limit - 1)
    return [AuditEntry.model_validate_json(entry) for entry in raw]
