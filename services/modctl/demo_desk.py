"""The demo's desk: a moderator to sign in with, and a policy that shows the word rules at work."""

import asyncio
import secrets

from services.common.settings import RedisSettings
from services.moderation.policy import Band, Policy
from services.moderation.policy_store import TENANT_SCOPE, PolicyStore
from services.moderation.scoring.thresholds import shipped_thresholds
from services.publisher.desk.accounts import AccountStore

DEMO_MODERATOR = "demo"
# Abuse is held for the desk rather than rejected unseen, so the demo shows why it was held.
DEMO_POLICY = Policy(
    thresholds={"toxicity": Band(review=shipped_thresholds()["toxicity"][0], reject=1.0)},
    banned_words=["kill yourself", "kys"],
    suspect_words=["idiot", "idiots", "moron", "morons", "bitcoin", "crypto"],
    author_rate_per_minute=10,
)


async def prepare(tenant: str, redis_url: str | None = None) -> str:
    """A fresh password for the demo moderator (an admin of `tenant`); the demo policy unless
    the tenant has one. Returns the password."""
    password = secrets.token_urlsafe(12)
    async with (RedisSettings(url=redis_url) if redis_url else RedisSettings()).client() as redis:
        await AccountStore(redis).add(
            DEMO_MODERATOR,
            password,
            [tenant],
            admin=True,
            display_name="Demo moderator",
            replace=True,
        )
        policies = PolicyStore(redis, Policy())
        if not (await policies.document(tenant)).stored:
            await policies.put(tenant, TENANT_SCOPE, DEMO_POLICY, "modctl")
    return password


def prepare_demo_desk(tenant: str) -> str:
    return asyncio.run(prepare(tenant))
