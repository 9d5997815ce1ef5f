"""The publisher in-process (real Kafka and Redis), and desk sign-in over its ASGI interface."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

from services.publisher.app import create_app
from services.publisher.desk.accounts import AccountStore
from services.publisher.settings import PublisherSettings
from tests.conftest import unique

PASSWORD = "correct horse battery"


@asynccontextmanager
async def running(settings: PublisherSettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, *, https: bool = False) -> httpx.AsyncClient:
    base = "https://desk.test" if https else "http://desk.test"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def add_moderator(redis: Redis, tenants: list[str], *, admin: bool = False) -> str:
    username = unique("mod")
    await AccountStore(redis).add(username, PASSWORD, tenants, admin=admin)
    return username


async def login(desk: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    form = await desk.get("/moderate/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    data = {"username": username, "password": password, "csrf_token": token.group(1)}
    return await desk.post("/moderate/login", data=data)


async def sign_in(desk: httpx.AsyncClient, username: str, tenant: str) -> str:
    """Sign in; the session's CSRF token, as desk.js reads it from the page."""
    response = await login(desk, username)
    assert response.status_code == 303, response.text
    page = await desk.get("/moderate", params={"tenant": tenant})
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf, page.text
    return csrf.group(1)
