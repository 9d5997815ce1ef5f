"""Moderator accounts: argon2id with rehashing, CSRF on every action, sign-in throttling,
roles and tenant scopes, cookies, sign-out everywhere, and the desk's response headers."""

import argparse
import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.settings import KafkaSettings, RedisSettings
from services.modctl.commands.moderators import add_moderator as reset_password
from services.modctl.commands.moderators import cmd_signout_all
from services.publisher.desk.accounts import HASHER, AccountStore
from services.publisher.settings import PublisherSettings
from tests.conftest import unique
from tests.security.desk_app import PASSWORD, add_moderator, client, login, running, sign_in

pytestmark = pytest.mark.kafka
WINDOW_SECONDS = 5


@pytest.fixture(scope="module")
async def app(
    kafka_settings: KafkaSettings, redis_settings: RedisSettings
) -> AsyncIterator[FastAPI]:
    settings = PublisherSettings(
        kafka=kafka_settings,
        redis=redis_settings,
        desk_login_max_failures=3,
        desk_login_address_max_failures=4,
        desk_login_window_seconds=WINDOW_SECONDS,
    )
    async with running(settings) as app:
        yield app


@pytest.fixture
async def desk(app: FastAPI, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    # Every test signs in from the same address: start each with that address's count clean,
    # whatever other tests sharing this Redis failed before.
    stale = [k async for k in redis.scan_iter(redis_keys.login_failures("address", "*"))]
    if stale:
        await redis.delete(*stale)
    async with client(app) as desk:
        yield desk


async def test_a_hash_made_with_old_parameters_is_replaced_at_the_next_sign_in(
    redis: Redis,
) -> None:
    old = AccountStore(redis, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    name = unique("mod")
    before = (await old.add(name, PASSWORD, ["t1"])).password_hash
    assert HASHER.check_needs_rehash(before)
    accounts = AccountStore(redis)
    assert await accounts.verify(name, "wrong password") is None
    assert (await accounts.get(name)).password_hash == before  # type: ignore[union-attr]
    account = await accounts.verify(name, PASSWORD)
    assert account is not None
    after = (await accounts.get(name)).password_hash  # type: ignore[union-attr]
    assert after == account.password_hash != before
    assert after.startswith("$argon2id$")
    assert not HASHER.check_needs_rehash(after)
    assert await accounts.verify(name, PASSWORD) == account


async def test_every_action_needs_the_sessions_csrf_token(
    desk: httpx.AsyncClient, redis: Redis
) -> None:
    tenant = unique("tenant")
    csrf = await sign_in(desk, await add_moderator(redis, [tenant]), tenant)
    decide = {"tenant": tenant, "comment_ids": ["c-1"], "action": "approve"}
    for path, body in [
        ("/moderate/decide", decide),
        ("/moderate/undo", {"tenant": tenant, "comment_ids": ["c-1"]}),
        ("/moderate/logout", {}),
        ("/moderate/logout-all", {}),
    ]:
        for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
            refused = await desk.post(path, json=body, headers=headers)
            assert refused.status_code == 403, (path, headers, refused.text)
            assert "CSRF" in refused.json()["detail"]
        form = await desk.post(path, data={**body, "csrf_token": "wrong"})
        assert form.status_code == 403, path
    # The right token passes the check (and the unknown comment is then a 404).
    allowed = await desk.post("/moderate/decide", json=decide, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 404
    # The sign-in form's own token: without its cookie the form is refused.
    desk.cookies.clear()
    forged = await desk.post(
        "/moderate/login", data={"username": "x", "password": "y", "csrf_token": "z"}
    )
    assert forged.status_code == 401
    assert "form expired" in forged.text


async def test_wrong_passwords_throttle_the_account_until_the_window_passes(
    desk: httpx.AsyncClient, redis: Redis
) -> None:
    username = await add_moderator(redis, [unique("tenant")])
    for _ in range(3):
        assert (await login(desk, username, "wrong password")).status_code == 401
    throttled_at = time.monotonic()
    refused = await login(desk, username)  # the right password
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
    assert "Too many failed sign-ins" in refused.text
    assert "desk_session" not in refused.headers.get("set-cookie", "")
    # HTTP Basic, the API's way in, is throttled the same way.
    basic = await desk.get("/v1/policies/t", auth=(username, PASSWORD))
    assert basic.status_code == 429
    assert "Retry-After" in basic.headers
    while (response := await login(desk, username)).status_code == 429:
        assert time.monotonic() - throttled_at < WINDOW_SECONDS + 5
        await asyncio.sleep(0.2)
    assert response.status_code == 303
    assert time.monotonic() - throttled_at >= WINDOW_SECONDS - 1.5


async def test_many_accounts_tried_from_one_address_throttle_the_address(
    app: FastAPI, redis: Redis
) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as desk:
        for _ in range(4):
            assert (await login(desk, unique("guess"), "123456")).status_code == 401
        untouched = await add_moderator(redis, [unique("tenant")])
        assert (await login(desk, untouched)).status_code == 429
    other = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://desk.test") as elsewhere:
        assert (await login(elsewhere, untouched)).status_code == 303


async def test_a_moderator_sees_only_their_tenants_and_only_admins_change_policy(
    desk: httpx.AsyncClient, redis: Redis
) -> None:
    mine, theirs = unique("tenant"), unique("tenant")
    username = await add_moderator(redis, [mine])
    await sign_in(desk, username, mine)
    for path in ["/moderate", "/moderate/counts", "/moderate/events"]:
        response = await desk.get(path, params={"tenant": theirs})
        assert response.status_code == 403, path
    item = await desk.get("/moderate/items/c-1", params={"tenant": theirs})
    assert item.status_code == 403
    auth = (username, PASSWORD)
    assert (await desk.get(f"/v1/policies/{mine}", auth=auth)).status_code == 200
    assert (await desk.get(f"/v1/policies/{theirs}", auth=auth)).status_code == 403
    change = await desk.put(f"/v1/policies/{mine}", json={"premoderation": True}, auth=auth)
    assert change.status_code == 403
    assert "admin" in change.json()["detail"]
    admin = await add_moderator(redis, [mine], admin=True)
    allowed = await desk.put(
        f"/v1/policies/{mine}", json={"premoderation": True}, auth=(admin, PASSWORD)
    )
    assert allowed.status_code == 200


async def test_sign_out_everywhere_ends_every_session_from_the_desk_and_modctl(
    app: FastAPI, redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = unique("tenant")
    username = await add_moderator(redis, [tenant])
    async with client(app) as laptop, client(app) as phone, client(app) as tablet:
        csrf = await sign_in(laptop, username, tenant)
        await sign_in(phone, username, tenant)
        out = await laptop.post("/moderate/logout-all", data={"csrf_token": csrf})
        assert out.status_code == 303
        for device in (laptop, phone):
            page = await device.get("/moderate", params={"tenant": tenant})
            assert page.status_code == 303
            assert page.headers["location"].startswith("/moderate/login")

        await sign_in(tablet, username, tenant)
        monkeypatch.setenv("REDIS_URL", redis_url)
        await asyncio.to_thread(cmd_signout_all, argparse.Namespace(username=username))
        page = await tablet.get("/moderate", params={"tenant": tenant})
        assert page.status_code == 303
        # A fresh sign-in works again; a password reset signs it out too.
        await sign_in(tablet, username, tenant)
        await reset_password(username, "a brand new password", [tenant], replace=True)
        page = await tablet.get("/moderate", params={"tenant": tenant})
        assert page.status_code == 303


async def test_cookies_are_httponly_strict_and_secure_over_https(
    app: FastAPI, redis: Redis
) -> None:
    tenant = unique("tenant")
    username = await add_moderator(redis, [tenant])
    async with client(app, https=True) as desk:
        response = await login(desk, username)
        assert response.status_code == 303
        cookie = response.headers["set-cookie"].lower()
        assert "desk_session=" in cookie
        for flag in ("httponly", "samesite=strict", "secure", "path=/moderate"):
            assert flag in cookie
    async with client(app) as plain:  # desk_secure_cookies off and plain http: not Secure
        cookie = (await login(plain, username)).headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "secure" not in cookie


async def test_desk_pages_send_the_security_headers(desk: httpx.AsyncClient, redis: Redis) -> None:
    tenant = unique("tenant")
    await sign_in(desk, await add_moderator(redis, [tenant]), tenant)
    for path in ["/moderate/login", "/moderate", "/moderate/counts"]:
        response = await desk.get(path, params={"tenant": tenant})
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
    page = (await desk.get("/moderate", params={"tenant": tenant})).text
    assert "<script>" not in page
    assert " onclick=" not in page


async def test_only_admins_manage_moderators_and_only_within_their_tenants(
    app: FastAPI, redis: Redis
) -> None:
    mine, theirs = unique("tenant"), unique("tenant")
    admin = await add_moderator(redis, [mine], admin=True)
    colleague = await add_moderator(redis, [mine])
    stranger = await add_moderator(redis, [theirs])
    async with client(app) as admin_desk, client(app) as colleague_desk:
        admin_csrf = await sign_in(admin_desk, admin, mine)
        colleague_csrf = await sign_in(colleague_desk, colleague, mine)

        refused = await colleague_desk.post(
            f"/moderate/moderators/{admin}/signout", headers={"X-CSRF-Token": colleague_csrf}
        )
        assert refused.status_code == 403
        assert (await colleague_desk.get("/moderate/moderators")).status_code == 403

        listed = (await admin_desk.get("/moderate/moderators")).json()
        names = {m["username"] for m in listed}
        assert {admin, colleague} <= names
        assert stranger not in names
        outside = await admin_desk.post(
            f"/moderate/moderators/{stranger}/signout", headers={"X-CSRF-Token": admin_csrf}
        )
        assert outside.status_code == 403
        no_csrf = await admin_desk.post(f"/moderate/moderators/{colleague}/signout")
        assert no_csrf.status_code == 403

        done = await admin_desk.post(
            f"/moderate/moderators/{colleague}/signout", headers={"X-CSRF-Token": admin_csrf}
        )
        assert done.status_code == 200
        assert done.json() == {"sessions_ended": 1}
        page = await colleague_desk.get("/moderate", params={"tenant": mine})
        assert page.status_code == 303
