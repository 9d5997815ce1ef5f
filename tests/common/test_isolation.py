"""Tenant isolation over every route of ingest, publisher and perspective.

Each route of each app is either in PUBLIC (with the reason) or in ROUTES, where a probe calls
it as tenant A (A's key, or a desk session of A's moderator) against tenant B's resources and
must be refused, and without credentials must be refused too. A route in neither fails
`test_every_route_is_in_the_table`, so a new endpoint cannot ship without its check.
"""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from redis.asyncio import Redis
from starlette.routing import Mount

from services.common import redis_keys
from services.common.contract import Verdict, utc_now
from services.common.settings import KafkaSettings, RedisSettings
from services.common.tenants import ALL_SCOPES, Scope, TenantStore
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.moderation.policy import Policy
from services.moderation.policy_store import TENANT_SCOPE, PolicyStore
from services.perspective.app import create_app as create_perspective
from services.perspective.settings import PerspectiveSettings
from services.publisher.app import create_app as create_publisher
from services.publisher.desk.accounts import AccountStore
from services.publisher.desk.sessions import COOKIE, CSRF_HEADER, SessionStore
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews
from services.webhooks.app import create_app as create_webhooks
from services.webhooks.settings import WebhookSettings
from tests.conftest import unique
from tests.publisher.test_views import verdict

pytestmark = pytest.mark.kafka
Service = Literal["ingest", "publisher", "perspective", "webhooks"]
RouteId = tuple[Service, str, str]  # service, method (or MOUNT), path template

PUBLIC: dict[RouteId, str] = {
    **{
        (s, "GET", p): "operations and API documentation"
        for s in ("ingest", "publisher", "perspective", "webhooks")
        for p in (
            "/health/live",
            "/health/ready",
            "/metrics",
            "/openapi.json",
            "/docs",
            "/docs/oauth2-redirect",
            "/redoc",
        )
    },
    ("publisher", "GET", "/moderate/login"): "the sign-in form",
    ("publisher", "POST", "/moderate/login"): "signing in (password and the form's CSRF cookie)",
    ("publisher", "MOUNT", "/moderate/static"): "the desk's script and styles",
    ("perspective", "GET", "/$discovery/rest"): "Google clients read it before any call",
    ("perspective", "POST", "/v1/integrations/coral/moderate"): (
        "signed by Coral (HMAC of the body, X-Coral-Signature), tenant set by the operator"
    ),
}


@dataclass(frozen=True)
class Probe:
    """How to call a route as tenant A against tenant B's resources.

    `kind`: `cross` (A's credentials, B's resource: 401/403/404 and B unchanged), `own` (the
    tenant comes from the key alone: A's key naming B anywhere in the request acts for A),
    `session` (the caller's own session only). `{b}`, `{a}`, `{b_comment}`, `{b_article}` are
    filled in. `scope`: the key scope the route needs (a key without it gets 403).
    """

    path: str
    caller: Literal["key", "moderator"]
    kind: Literal["cross", "own", "session"] = "cross"
    scope: Scope | None = None
    query: dict[str, str] = field(default_factory=dict)
    json: Any = None
    anonymous: int = 401  # 303: a desk page sends the browser to the sign-in form


def _policy(path: str, method_json: Any = None) -> Probe:
    return Probe(path, "key", scope=Scope.POLICY_WRITE, json=method_json)


ROUTES: dict[RouteId, Probe] = {
    # ingest: the tenant is the key's, whatever the request says
    ("ingest", "PUT", "/v1/articles/{article_id}"): Probe(
        "/v1/articles/{b_article}",
        "key",
        kind="own",
        scope=Scope.INGEST,
        json={"title": "Mine", "tenant_id": "{b}"},
    ),
    ("ingest", "POST", "/v1/comments"): Probe(
        "/v1/comments",
        "key",
        kind="own",
        scope=Scope.INGEST,
        json={
            "article_id": "{b_article}",
            "tenant_id": "{b}",
            "author": {"id": "u", "display_name": "U"},
            "body": "hello",
        },
    ),
    # publisher: reading
    ("publisher", "GET", "/v1/articles/{article_id}/comments"): Probe(
        "/v1/articles/{b_article}/comments", "key", scope=Scope.FEED_READ, query={"tenant": "{b}"}
    ),
    ("publisher", "GET", "/v1/comments/{comment_id}"): Probe(
        "/v1/comments/{b_comment}", "key", scope=Scope.FEED_READ
    ),
    ("publisher", "GET", "/v1/comments/{comment_id}/history"): Probe(
        "/v1/comments/{b_comment}/history", "key", scope=Scope.FEED_READ, query={"tenant": "{b}"}
    ),
    # publisher: policy and audit
    ("publisher", "GET", "/v1/policies/{tenant}"): _policy("/v1/policies/{b}"),
    ("publisher", "PUT", "/v1/policies/{tenant}"): _policy("/v1/policies/{b}", {"closed": True}),
    ("publisher", "GET", "/v1/policies/{tenant}/changes"): _policy("/v1/policies/{b}/changes"),
    ("publisher", "PUT", "/v1/policies/{tenant}/sections/{section}"): _policy(
        "/v1/policies/{b}/sections/sport", {"closed": True}
    ),
    ("publisher", "DELETE", "/v1/policies/{tenant}/sections/{section}"): _policy(
        "/v1/policies/{b}/sections/sport"
    ),
    ("publisher", "PUT", "/v1/policies/{tenant}/articles/{article_id}"): _policy(
        "/v1/policies/{b}/articles/{b_article}", {"closed": True}
    ),
    ("publisher", "DELETE", "/v1/policies/{tenant}/articles/{article_id}"): _policy(
        "/v1/policies/{b}/articles/{b_article}"
    ),
    ("publisher", "GET", "/v1/audit/{tenant}"): _policy("/v1/audit/{b}"),
    # publisher: the desk, as A's moderator
    ("publisher", "GET", "/moderate"): Probe(
        "/moderate", "moderator", query={"tenant": "{b}"}, anonymous=303
    ),
    ("publisher", "GET", "/moderate/rows/{comment_id}"): Probe(
        "/moderate/rows/{b_comment}", "moderator", query={"tenant": "{b}"}, anonymous=303
    ),
    ("publisher", "GET", "/moderate/insights"): Probe(
        "/moderate/insights", "moderator", query={"tenant": "{b}"}, anonymous=303
    ),
    ("publisher", "GET", "/moderate/counts"): Probe(
        "/moderate/counts", "moderator", query={"tenant": "{b}"}, anonymous=303
    ),
    ("publisher", "GET", "/moderate/items/{comment_id}"): Probe(
        "/moderate/items/{b_comment}", "moderator", query={"tenant": "{b}"}, anonymous=303
    ),
    ("publisher", "GET", "/moderate/events"): Probe(
        "/moderate/events", "moderator", query={"tenant": "{b}"}, anonymous=303
    ),
    ("publisher", "POST", "/moderate/decide"): Probe(
        "/moderate/decide",
        "moderator",
        json={"tenant": "{b}", "comment_ids": ["{b_comment}"], "action": "approve"},
    ),
    ("publisher", "POST", "/moderate/undo"): Probe(
        "/moderate/undo", "moderator", json={"tenant": "{b}", "comment_ids": ["{b_comment}"]}
    ),
    ("publisher", "POST", "/moderate/logout"): Probe(
        "/moderate/logout", "moderator", kind="session"
    ),
    ("publisher", "POST", "/moderate/logout-all"): Probe(
        "/moderate/logout-all", "moderator", kind="session"
    ),
    ("publisher", "GET", "/moderate/moderators"): Probe(
        "/moderate/moderators", "moderator", kind="session", anonymous=303
    ),
    ("publisher", "POST", "/moderate/moderators/{username}/signout"): Probe(
        "/moderate/moderators/{b}/signout", "moderator"
    ),
    # webhooks: the tenant's own endpoints and delivery log, the tenant being the key's
    ("webhooks", "GET", "/v1/webhooks"): Probe(
        "/v1/webhooks", "key", kind="own", scope=Scope.POLICY_WRITE
    ),
    ("webhooks", "PUT", "/v1/webhooks"): Probe(
        "/v1/webhooks", "key", kind="own", scope=Scope.POLICY_WRITE, json={"endpoints": []}
    ),
    ("webhooks", "GET", "/v1/webhooks/deliveries"): Probe(
        "/v1/webhooks/deliveries", "key", kind="own", scope=Scope.POLICY_WRITE
    ),
    ("webhooks", "GET", "/v1/webhooks/deliveries/{delivery_id}"): Probe(
        "/v1/webhooks/deliveries/{b_comment}", "key", scope=Scope.POLICY_WRITE
    ),
    # perspective: the tenant is the key's
    ("perspective", "POST", "/v1alpha1/comments:analyze"): Probe(
        "/v1alpha1/comments:analyze",
        "key",
        kind="own",
        scope=Scope.ANALYZE,
        json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}},
    ),
    ("perspective", "POST", "/v1alpha1/comments:suggestscore"): Probe(
        "/v1alpha1/comments:suggestscore",
        "key",
        kind="own",
        scope=Scope.ANALYZE,
        json={
            "comment": {"text": "hi"},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.1}}},
        },
    ),
}


@dataclass
class World:
    """Tenants A and B, B's data, and A's credentials; a client per service."""

    a: str
    b: str
    b_article: str
    b_comment: str
    key_a: str
    keys_a_without: dict[Scope, str]  # A's keys lacking one scope each
    session_a: str
    csrf_a: str
    redis: Redis
    clients: dict[Service, httpx.AsyncClient]
    apps: dict[Service, FastAPI]

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(
                a=self.a, b=self.b, b_article=self.b_article, b_comment=self.b_comment
            )
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, included routers flattened; mounts as MOUNT."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.add(("MOUNT", str(route.path)))
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, str(route.path)))
    return found


@pytest.fixture(scope="module")
async def world(kafka_settings: KafkaSettings, redis_url: str) -> AsyncIterator[World]:
    redis_settings = RedisSettings(url=redis_url)
    redis = Redis.from_url(redis_url)
    store = TenantStore(redis)
    a, b = unique("tenant-a"), unique("tenant-b")
    await store.create_tenant(a)
    await store.create_tenant(b, private_feeds=True)
    key_a, _ = await store.create_key(a)
    without = {scope: (await store.create_key(a, ALL_SCOPES - {scope}))[0] for scope in ALL_SCOPES}
    b_article = unique("article")
    held = verdict(b, b_article, Verdict.REVIEW)
    views = CommentViews(redis)
    await views.apply(held, utc_now())
    await PolicyStore(redis, Policy()).put(b, TENANT_SCOPE, Policy(), "setup")
    moderator = unique("mod-a")
    await AccountStore(redis).add(moderator, "correct horse battery", [a], admin=True)
    session_token, session = await SessionStore(redis, 3600).create(moderator)

    apps: dict[Service, FastAPI] = {
        "ingest": create_ingest(IngestSettings(kafka=kafka_settings, redis=redis_settings)),
        "publisher": create_publisher(
            PublisherSettings(kafka=kafka_settings, redis=redis_settings)
        ),
        "perspective": create_perspective(
            PerspectiveSettings(kafka=kafka_settings, redis=redis_settings)
        ),
        "webhooks": create_webhooks(WebhookSettings(kafka=kafka_settings, redis=redis_settings)),
    }
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
        for name, app in apps.items()
    }
    # Ingest runs with its broker, so a request it accepts really goes to Kafka; the others
    # need none of their lifespan for what is refused here.
    async with apps["ingest"].router.lifespan_context(apps["ingest"]):
        yield World(
            a=a,
            b=b,
            b_article=b_article,
            b_comment=held.comment_id,
            key_a=key_a,
            keys_a_without=without,
            session_a=session_token,
            csrf_a=session.csrf,
            redis=redis,
            clients=clients,
            apps=apps,
        )
    for client in clients.values():
        await client.aclose()
    await redis.aclose()


async def call(
    world: World,
    route: RouteId,
    probe: Probe,
    *,
    key: str | None = None,
    moderator: bool = False,
) -> httpx.Response:
    service, method, _ = route
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if moderator:
        cookies[COOKIE] = world.session_a
        headers[CSRF_HEADER] = world.csrf_a
    client = world.clients[service]
    client.cookies.clear()
    client.cookies.update(cookies)
    return await client.request(
        method,
        world.fill(probe.path),
        params=world.fill(probe.query),
        json=world.fill(probe.json) if probe.json is not None else None,
        headers=headers,
        follow_redirects=False,
    )


async def test_every_route_is_in_the_table(world: World) -> None:
    """A route that is neither public nor probed below fails here: add it to one of them."""
    for service, app in world.apps.items():
        listed = {(m, p) for (s, m, p) in [*PUBLIC, *ROUTES] if s == service}
        assert routes_of(app) == listed, f"{service}: routes not in the isolation table"


@pytest.mark.parametrize("route", sorted(ROUTES), ids="{0[0]} {0[1]} {0[2]}".format)
async def test_route_refuses_anonymous_callers(world: World, route: RouteId) -> None:
    probe = ROUTES[route]
    response = await call(world, route, probe)
    assert response.status_code == probe.anonymous, response.text
    if probe.anonymous == 303:
        assert response.headers["location"].startswith("/moderate/login")


@pytest.mark.parametrize(
    "route", sorted(r for r, p in ROUTES.items() if p.scope), ids="{0[0]} {0[1]} {0[2]}".format
)
async def test_route_refuses_a_key_without_its_scope(world: World, route: RouteId) -> None:
    probe = ROUTES[route]
    assert probe.scope is not None
    response = await call(world, route, probe, key=world.keys_a_without[probe.scope])
    assert response.status_code == 403, response.text
    assert probe.scope.value in response.text


@pytest.mark.parametrize(
    "route",
    sorted(r for r, p in ROUTES.items() if p.kind == "cross"),
    ids="{0[0]} {0[1]} {0[2]}".format,
)
async def test_tenant_a_cannot_reach_tenant_b(world: World, route: RouteId) -> None:
    probe = ROUTES[route]
    before = await _b_state(world)
    if probe.caller == "key":
        response = await call(world, route, probe, key=world.key_a)
    else:
        response = await call(world, route, probe, moderator=True)
    assert response.status_code in {401, 403, 404}, response.text
    assert await _b_state(world) == before


@pytest.mark.parametrize(
    "route",
    sorted(r for r, p in ROUTES.items() if p.kind == "own" and r[0] == "ingest"),
    ids="{0[0]} {0[1]} {0[2]}".format,
)
async def test_ingest_acts_for_the_keys_tenant_whatever_the_request_names(
    world: World, route: RouteId
) -> None:
    probe = ROUTES[route]
    response = await world.clients["ingest"].request(
        route[1],
        world.fill(probe.path),
        json=world.fill(probe.json),
        headers={"Authorization": f"Bearer {world.key_a}", "X-Tenant": world.b},
    )
    # Either the field is refused outright (422: comments allow no unknown fields) or ignored.
    assert response.status_code in {202, 422}, response.text
    if response.status_code == 202:
        assert response.json()["tenant_id"] == world.a
    else:
        assert response.json()["errors"][0]["field"] == "tenant_id"
    assert not await world.redis.exists(redis_keys.article(world.b, world.b_article))


async def test_desk_cannot_decide_on_b_comment_under_a_tenant(world: World) -> None:
    """A's moderator naming A's tenant but B's comment id: nothing of B's is found."""
    route: RouteId = ("publisher", "POST", "/moderate/decide")
    probe = Probe(
        "/moderate/decide",
        "moderator",
        json={"tenant": "{a}", "comment_ids": ["{b_comment}"], "action": "approve"},
    )
    response = await call(world, route, probe, moderator=True)
    assert response.status_code == 404, response.text
    assert await world.redis.hlen(redis_keys.pending_decision_bodies(world.b)) == 0


async def test_private_feed_needs_a_key_public_feed_does_not(world: World) -> None:
    feed = f"/v1/articles/{world.b_article}/comments"
    publisher = world.clients["publisher"]
    publisher.cookies.clear()
    private = await publisher.get(feed, params={"tenant": world.b})
    assert private.status_code == 401
    assert "private" in private.json()["message"]
    public = await publisher.get(feed, params={"tenant": world.a})
    assert public.status_code == 200
    assert public.json()["tenant_id"] == world.a
    unknown = await publisher.get(feed, params={"tenant": unique("nobody")})
    assert unknown.status_code == 404
    own = await publisher.get(feed, headers={"Authorization": f"Bearer {world.key_a}"})
    assert own.json()["tenant_id"] == world.a


async def _b_state(world: World) -> tuple[Any, ...]:
    """What a refused call must not change: B's policy, audit, queue and pending decisions."""
    redis = world.redis
    return (
        await redis.hgetall(redis_keys.policy(world.b)),
        await redis.llen(redis_keys.audit(world.b)),
        await redis.zcard(redis_keys.review(world.b)),
        await redis.hlen(redis_keys.pending_decision_bodies(world.b)),
    )


def test_table_paths_name_real_placeholders() -> None:
    for probe in ROUTES.values():
        names = set(re.findall(r"{(\w+)}", probe.path))
        assert names <= {"a", "b", "b_article", "b_comment"}, probe.path
