"""Desk test helpers: moderators in the session's Redis, signed-in HTTP clients, comments."""

import asyncio
import re
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from services.common.settings import RedisSettings
from services.publisher.desk.accounts import AccountStore
from tests.conftest import unique
from tests.processes import System, wait_for

PASSWORD = "correct horse battery"
T = TypeVar("T")


@dataclass(frozen=True)
class Moderator:
    username: str
    password: str
    tenant: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)


def add_moderator(redis: str | RedisSettings, tenant: str, *, admin: bool = True) -> Moderator:
    settings = RedisSettings(url=redis) if isinstance(redis, str) else redis

    async def add() -> None:
        async with settings.client() as redis:
            await AccountStore(redis).add(username, PASSWORD, [tenant], admin=admin)

    username = unique("mod")
    run_async(add())
    return Moderator(username, PASSWORD, tenant)


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on a thread of its own: Playwright's sync API keeps a loop on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


@contextmanager
def signed_in(system: System, moderator: Moderator) -> Iterator[tuple[httpx.Client, str]]:
    """A client with a desk session, and the session's CSRF token."""
    with httpx.Client(base_url=system.publisher.url, timeout=10.0) as client:
        yield client, sign_in(client, moderator)


def sign_in(client: httpx.Client, moderator: Moderator) -> str:
    login = client.get("/moderate/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token, login.text
    response = client.post(
        "/moderate/login",
        data={
            "username": moderator.username,
            "password": moderator.password,
            "csrf_token": token.group(1),
        },
    )
    assert response.status_code == 303, response.text
    queue = client.get("/moderate", params={"tenant": moderator.tenant})
    csrf = re.search(r'data-csrf="([^"]+)"', queue.text)
    assert csrf, queue.text
    return csrf.group(1)


def submit(
    system: System,
    tenant: str,
    article_id: str,
    body: str,
    author: str = "r-1",
    display_name: str | None = None,
) -> str:
    payload = {
        "article_id": article_id,
        "author": {"id": author, "display_name": display_name or author.title()},
        "body": body,
    }
    response = httpx.post(
        f"{system.ingest.url}/v1/comments", json=payload, headers=system.headers(tenant)
    )
    assert response.status_code == 202, response.text
    return str(response.json()["accepted"][0])


def put_article(system: System, tenant: str, article_id: str, title: str, **fields: Any) -> None:
    response = httpx.put(
        f"{system.ingest.url}/v1/articles/{article_id}",
        json={"title": title, **fields},
        headers=system.headers(tenant),
    )
    assert response.status_code in (200, 202), response.text


def status(system: System, tenant: str, comment_id: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{system.publisher.url}/v1/comments/{comment_id}", headers=system.headers(tenant)
    )
    return dict(response.json()) if response.status_code == 200 else None


def wait_status(
    system: System, tenant: str, comment_id: str, expected: str | None = None, timeout: float = 60
) -> dict[str, Any]:
    """The comment's status once it has one (and, with `expected`, once it is that)."""

    def check() -> dict[str, Any] | None:
        found = status(system, tenant, comment_id)
        if found and (expected is None or found["status"] == expected):
            return found
        return None

    return wait_for(check, timeout=timeout, what=f"{comment_id} {expected or 'verdict'}")
