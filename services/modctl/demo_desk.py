"""The demo's desk: a moderator to sign in with, and a policy that shows the word rules at work."""

import asyncio
import re
import secrets
import time
from collections.abc import Sequence

import httpx

from services.common.settings import RedisSettings
from services.modctl.seed import SeedArticle, comment_id
from services.moderation.policy import Band, Policy
from services.moderation.policy_store import TENANT_SCOPE, PolicyStore
from services.moderation.scoring.thresholds import shipped_thresholds
from services.publisher.desk.accounts import AccountStore
from services.publisher.desk.sessions import CSRF_HEADER, LOGIN_CSRF_COOKIE

DEMO_MODERATOR = "demo"
# Abuse is held for the desk rather than rejected unseen, so the demo shows why it was held.
DEMO_POLICY = Policy(
    thresholds={"toxicity": Band(review=shipped_thresholds()["toxicity"][0], reject=1.0)},
    banned_words=["kill yourself", "kys"],
    suspect_words=["idiot", "idiots", "moron", "morons", "bitcoin", "crypto"],
    author_rate_per_minute=10,
)
# What the demo moderator decides on the desk at start, by the comment's author, so the insights
# page has moderator verdicts to show: the two spam comments the machine held are rejected; the
# abusive one stays held for whoever tries the desk.
DEMO_DECISIONS = {"CryptoKing": "scams_and_fraud", "Deal Hunter": "scams_and_fraud"}


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


def decide_on_desk(
    publisher_url: str,
    tenant: str,
    password: str,
    articles: Sequence[SeedArticle],
    key: str,
    timeout: float = 60.0,
) -> list[str]:
    """Reject the demo's spam as the demo moderator, through the desk's own sign-in and decision
    endpoints (as a moderator's browser does), and wait until the publisher has applied the
    verdicts. Only comments still held are decided, so a run on kept data decides nothing new.
    Returns the ids decided."""
    wanted = {
        comment_id(a.article_id, c): DEMO_DECISIONS[c.author]
        for a in articles
        for c in a.comments
        if c.author in DEMO_DECISIONS
    }
    with httpx.Client(base_url=publisher_url, timeout=10.0) as desk:
        csrf = _sign_in(desk, tenant, password)
        held = desk.get("/moderate", params={"tenant": tenant, "queue": "held"}).text
        decided = [c for c in wanted if f'id="item-{c}"' in held]
        for comment, category in ((c, wanted[c]) for c in decided):
            body = {"tenant": tenant, "comment_ids": [comment], "action": "reject",
                    "category": category}  # fmt: skip
            desk.post("/moderate/decide", json=body, headers={CSRF_HEADER: csrf}).raise_for_status()
    _wait_decided(publisher_url, key, decided, timeout)
    return decided


def _sign_in(desk: httpx.Client, tenant: str, password: str) -> str:
    """A desk session for the demo moderator; its CSRF token, as the desk's pages carry it."""
    desk.get("/moderate/login").raise_for_status()
    form = {
        "username": DEMO_MODERATOR,
        "password": password,
        "csrf_token": desk.cookies.get(LOGIN_CSRF_COOKIE) or "",
    }
    signed = desk.post("/moderate/login", data=form)
    if signed.status_code != 303:
        raise RuntimeError(f"the demo moderator could not sign in ({signed.status_code})")
    page = desk.get("/moderate", params={"tenant": tenant})
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    if found is None:
        raise RuntimeError("the desk's queue page carries no CSRF token")
    return found.group(1)


def _wait_decided(publisher_url: str, key: str, ids: Sequence[str], timeout: float) -> None:
    """Until each comment's verdict is the demo moderator's (after the desk's undo window)."""
    waiting = list(ids)
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {key}"}
    while waiting and time.monotonic() < deadline:
        state = httpx.get(f"{publisher_url}/v1/comments/{waiting[0]}", headers=headers, timeout=5)
        if state.status_code == 200 and state.json().get("decided_by") == DEMO_MODERATOR:
            waiting.pop(0)
        else:
            time.sleep(0.2)
    if waiting:
        raise TimeoutError(f"the demo moderator's verdicts were not applied within {timeout:.0f}s")
