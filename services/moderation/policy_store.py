"""Policies in Redis, per tenant with section and article overrides, changed without a restart.

The worker reads a tenant's policies at most every few seconds (a short in-process cache);
every change is written together with its record (who, when, before, after) in one script.
"""

import json
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.common import redis_keys
from services.common.contract import utc_now
from services.common.redis_client import RedisClient
from services.moderation.policy import Policy, PolicyOverride, apply_override

TENANT_SCOPE = "tenant"

# KEYS: policy hash, changes list. ARGV: field, new JSON ("" deletes), who, when (iso).
_PUT = """
local before = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
local after = ARGV[2]
if after == '' then after = 'null' end
local change = '{"scope":' .. cjson.encode(ARGV[1]) .. ',"changed_by":' .. cjson.encode(ARGV[3])
  .. ',"changed_at":' .. cjson.encode(ARGV[4]) .. ',"before":' .. (before or 'null')
  .. ',"after":' .. after .. '}'
redis.call('LPUSH', KEYS[2], change)
return change
"""


class PolicyDocument(BaseModel):
    """A tenant's policy and its overrides as stored; `stored` is false for a tenant's defaults."""

    tenant_id: str
    stored: bool
    policy: Policy
    sections: dict[str, PolicyOverride] = Field(default_factory=dict)
    articles: dict[str, PolicyOverride] = Field(default_factory=dict)

    def effective(self, section: str | None, article_id: str | None) -> Policy:
        """The tenant's policy, then the section's override, then the article's."""
        found = self.policy
        if section is not None:
            found = apply_override(found, self.sections.get(section))
        if article_id is not None:
            found = apply_override(found, self.articles.get(article_id))
        return found


class PolicyChange(BaseModel):
    scope: str  # `tenant`, `section:{name}` or `article:{id}`
    changed_by: str
    changed_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def section_scope(section: str) -> str:
    return f"section:{section}"


def article_scope(article_id: str) -> str:
    return f"article:{article_id}"


class PolicyStore:
    def __init__(self, redis: RedisClient, default: Policy, cache_seconds: float = 2.0) -> None:
        self._redis = redis
        self._default = default
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, PolicyDocument]] = {}
        self._put = redis.register_script(_PUT)

    async def document(self, tenant: str) -> PolicyDocument:
        raw = await self._redis.hgetall(redis_keys.policy(tenant))
        fields = {redis_keys.as_text(k): v for k, v in raw.items()}
        stored = fields.get(TENANT_SCOPE)
        return PolicyDocument(
            tenant_id=tenant,
            stored=stored is not None,
            policy=Policy.model_validate_json(stored) if stored else self._default,
            sections=_overrides(fields, "section:"),
            articles=_overrides(fields, "article:"),
        )

    async def cached(self, tenant: str) -> PolicyDocument:
        """At most `cache_seconds` old: a change takes effect within that time."""
        now = time.monotonic()
        hit = self._cache.get(tenant)
        if hit and hit[0] > now:
            return hit[1]
        document = await self.document(tenant)
        self._cache[tenant] = (now + self._cache_seconds, document)
        return document

    async def put(
        self, tenant: str, scope: str, value: Policy | PolicyOverride | None, changed_by: str
    ) -> PolicyChange:
        """Store (or with None, remove) the policy of one scope, recording the change."""
        new = value.model_dump_json(exclude_none=isinstance(value, PolicyOverride)) if value else ""
        keys = [redis_keys.policy(tenant), redis_keys.policy_changes(tenant)]
        change = await self._put(keys=keys, args=[scope, new, changed_by, utc_now().isoformat()])
        self._cache.pop(tenant, None)
        return PolicyChange.model_validate_json(change)

    async def changes(self, tenant: str, limit: int = 100) -> list[PolicyChange]:
        raw = await self._redis.lrange(redis_keys.policy_changes(tenant), 0, limit - 1)
        return [PolicyChange.model_validate_json(entry) for entry in raw]


def _overrides(fields: dict[str, bytes | str], prefix: str) -> dict[str, PolicyOverride]:
    return {
        name.removeprefix(prefix): PolicyOverride.model_validate(json.loads(value))
        for name, value in fields.items()
        if name.startswith(prefix)
    }
