"""A moderator's decision: a new verdict on comments.moderated, after a short undo window.

The decision waits in Redis (not in the browser) until its window has passed, so closing the
tab neither loses nor hastens it, and any publisher instance may send it; `claim` takes due
decisions atomically, so each is sent by one of them.
"""

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from faststream.kafka import KafkaBroker

from services.common import redis_keys
from services.common.contract import (
    CommentModerated,
    Reason,
    Verdict,
    message_key,
    new_event_id,
)
from services.common.redis_client import RedisClient
from services.common.replication import ReplicaBarrier

log = logging.getLogger(__name__)

# Modelled on the statement-of-reasons categories of the EU Digital Services Act transparency
# database (Article 17 DSA); the code is what the verdict carries.
REJECT_CATEGORIES: dict[str, str] = {
    "illegal_or_harmful_speech": "Illegal or harmful speech (hate, harassment, insults)",
    "violence": "Violence or threats",
    "negative_effects_on_civic_discourse": "Negative effects on civic discourse or elections",
    "scams_and_fraud": "Scams, fraud or spam",
    "non_consensual_behaviour": "Non-consensual behaviour (doxxing, private images)",
    "data_protection_and_privacy": "Data protection and privacy violations",
    "intellectual_property": "Intellectual property infringement",
    "pornography_or_sexualized_content": "Pornography or sexualised content",
    "protection_of_minors": "Protection of minors",
    "self_harm": "Self-harm",
    "risk_for_public_security": "Risk for public security",
    "unsafe_and_illegal_products": "Unsafe or illegal products",
    "animal_welfare": "Animal welfare",
    "scope_of_platform_service": "Terms of service (off-topic, duplicate, off-platform)",
}
APPROVE_CATEGORY = "approved"
MODERATOR_REASON = "moderator"  # the reason code a moderator's verdict leads with


def moderator_reason(decision: CommentModerated) -> Reason | None:
    """The moderator's own reason of a verdict; None for the machine's."""
    return next((r for r in decision.reasons if r.code == MODERATOR_REASON), None)


def machine_reasons(decision: CommentModerated) -> list[Reason]:
    """The machine's reasons: a moderator's verdict carries them after its own."""
    return [r for r in decision.reasons if r.code != MODERATOR_REASON]


def machine_reason_overruled(decision: CommentModerated) -> str | None:
    """For a moderator's verdict: the machine's decisive reason it went against ("none" when the
    machine had approved), or None when it agreed. A moderator's verdict carries the machine's
    reasons after its own, so the machine's view needs no lookup."""
    machine = [r.code for r in machine_reasons(decision)]
    if decision.verdict is Verdict.APPROVED:
        return machine[0] if machine else None
    return None if machine else "none"


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def human_verdict(
    machine: CommentModerated,
    action: Action,
    moderator: str,
    decided_at: datetime,
    category: str | None = None,
    note: str | None = None,
) -> CommentModerated:
    """The moderator's reason first, then the rules that fired before, for the record."""
    verdict = Verdict.APPROVED if action is Action.APPROVE else Verdict.REJECTED
    label = APPROVE_CATEGORY if action is Action.APPROVE else category
    own = Reason(code=MODERATOR_REASON, label=label, detail=note or None)
    earlier = machine_reasons(machine)
    latency = (decided_at - machine.submitted_at).total_seconds() * 1000
    return machine.model_copy(
        update={
            "event_id": new_event_id(),
            "verdict": verdict,
            "reasons": [own, *earlier],
            "decided_by": moderator,
            "decided_at": decided_at,
            "latency_ms": round(latency, 1),
        }
    )


# KEYS: one shard's schedule (zset). ARGV: now_ms, max, the shard's bodies key prefix (the
# bodies share the schedule's hash slot).
# Returns [member, body, ...] of the claimed decisions.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local slash = string.find(member, '/', 1, true)
  local tenant, comment = string.sub(member, 1, slash - 1), string.sub(member, slash + 1)
  local bodies = ARGV[3] .. tenant
  local body = redis.call('HGET', bodies, comment)
  redis.call('HDEL', bodies, comment)
  if body then table.insert(out, member); table.insert(out, body) end
end
return out
"""

# KEYS: schedule, bodies. ARGV: member, comment id. 1 when the decision was still pending.
_UNDO = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
"""


def _member(tenant: str, comment_id: str) -> str:
    return f"{tenant}/{comment_id}"


class PendingDecisions:
    def __init__(self, redis: RedisClient, barrier: ReplicaBarrier | None = None) -> None:
        """`barrier`: a scheduled decision waits for Redis replicas, so that a master lost
        in its undo window does not take it along."""
        self._redis = redis
        self._barrier = barrier
        self._claim = redis.register_script(_CLAIM)
        self._undo = redis.register_script(_UNDO)

    async def schedule(self, decisions: Sequence[CommentModerated], due_ms: int) -> None:
        """Each tenant's decisions in one transaction (its body and schedule share a slot)."""
        by_tenant: dict[str, list[CommentModerated]] = {}
        for d in decisions:
            by_tenant.setdefault(d.tenant_id, []).append(d)
        for tenant, found in by_tenant.items():
            schedule = redis_keys.pending_decisions(redis_keys.shard(tenant))
            async with self._redis.pipeline(transaction=True) as pipe:
                for d in found:
                    bodies = redis_keys.pending_decision_bodies(tenant)
                    pipe.hset(bodies, d.comment_id, d.model_dump_json())
                    pipe.zadd(schedule, {_member(tenant, d.comment_id): due_ms})
                await pipe.execute()
            if self._barrier is not None:
                await self._barrier.wait([schedule])

    async def undo(self, tenant: str, comment_ids: Sequence[str]) -> list[str]:
        """The ids whose decisions were withdrawn; the others were already sent (or never made)."""
        undone = []
        for comment_id in comment_ids:
            keys = [
                redis_keys.pending_decisions(redis_keys.shard(tenant)),
                redis_keys.pending_decision_bodies(tenant),
            ]
            if await self._undo(keys=keys, args=[_member(tenant, comment_id), comment_id]):
                undone.append(comment_id)
        return undone

    async def pending_ids(self, tenant: str) -> set[str]:
        keys = await self._redis.hkeys(redis_keys.pending_decision_bodies(tenant))
        return {redis_keys.as_text(k) for k in keys}

    async def claim(self, now_ms: int, limit: int = 500) -> list[CommentModerated]:
        """Up to `limit` due decisions from each shard."""
        claimed = []
        for shard in range(redis_keys.SHARDS):
            keys = [redis_keys.pending_decisions(shard)]
            prefix = redis_keys.pending_decision_bodies_prefix(shard)
            raw = await self._claim(keys=keys, args=[now_ms, limit, prefix])
            claimed += [CommentModerated.model_validate_json(body) for body in raw[1::2]]
        return claimed

    async def send_due(self, broker: KafkaBroker, topic: str, now_ms: int) -> int:
        """Publish the due decisions; any that fail are scheduled again, to be retried."""
        due = await self.claim(now_ms)
        if not due:
            return 0
        results = await asyncio.gather(
            *(broker.publish(d, topic, key=message_key(d)) for d in due), return_exceptions=True
        )
        failed = [d for d, r in zip(due, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            log.warning("moderator decisions not published; retrying", extra={"count": len(failed)})
            await self.schedule(failed, now_ms + 1000)
        return len(due) - len(failed)
