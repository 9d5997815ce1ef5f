"""modctl tenants and modctl keys: the sites and the API keys that act for them."""

import argparse
import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.common.settings import RedisSettings
from services.common.tenants import ALL_SCOPES, ApiKey, Scope, Tenant, TenantStore, parse_scopes

T = TypeVar("T")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)([smhd])$")


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    tenants = commands.add_parser("tenants", help="the sites whose comments are moderated")
    actions = tenants.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new tenant")
    create.add_argument("name")
    create.add_argument(
        "--private-feeds", action="store_true", help="feeds need a key with feed:read"
    )
    create.set_defaults(handler=cmd_tenants_create)
    update = actions.add_parser("update", help="change a tenant's settings")
    update.add_argument("name")
    feeds = update.add_mutually_exclusive_group()
    feeds.add_argument("--private-feeds", dest="private_feeds", action="store_true", default=None)
    feeds.add_argument("--public-feeds", dest="private_feeds", action="store_false")
    update.add_argument(
        "--store-comments",
        choices=["on", "off"],
        help="Perspective analyze calls with doNotStore: false feed the moderation pipeline",
    )
    update.set_defaults(handler=cmd_tenants_update)
    actions.add_parser("list", help="every tenant").set_defaults(handler=cmd_tenants_list)

    keys = commands.add_parser("keys", help="API keys of a tenant")
    key_actions = keys.add_subparsers(dest="action", required=True)
    key_create = key_actions.add_parser("create", help="a new key, printed once on the last line")
    key_create.add_argument("tenant")
    key_create.add_argument(
        "--scopes",
        type=scopes_arg,
        default=ALL_SCOPES,
        help=f"comma-separated, of {','.join(Scope)} (default: all)",
    )
    key_create.add_argument(
        "--expires", type=parse_when, help="a duration (90d, 12h) or a date (2027-01-31)"
    )
    key_create.add_argument(
        "--requests-per-minute", type=int, help="this key's rate (default: the service's)"
    )
    key_create.set_defaults(handler=cmd_keys_create)
    key_list = key_actions.add_parser("list", help="the tenant's keys (ids, never the keys)")
    key_list.add_argument("tenant")
    key_list.set_defaults(handler=cmd_keys_list)
    revoke = key_actions.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("tenant")
    revoke.add_argument("key_id", help="the id `modctl keys list` shows")
    revoke.set_defaults(handler=cmd_keys_revoke)
    rotate = key_actions.add_parser(
        "rotate", help="a new key like the old one; the old one expires after --grace"
    )
    rotate.add_argument("tenant")
    rotate.add_argument("key_id", nargs="?", help="needed when the tenant has several keys")
    rotate.add_argument(
        "--grace", type=parse_duration, default=24 * 3600.0, help="default 24h; 0s: at once"
    )
    rotate.set_defaults(handler=cmd_keys_rotate)


def scopes_arg(text: str) -> frozenset[Scope]:
    try:
        return parse_scopes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: a number and s, m, h or d, like 24h")
    return float(int(match.group(1)) * _UNITS[match.group(2)])


def parse_when(text: str) -> float:
    """A duration from now, or an ISO date/time (UTC unless it says otherwise)."""
    if _DURATION.match(text.strip()):
        return time.time() + parse_duration(text)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: like 90d, 2027-01-31 or ...T12:00") from error
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _with_store(work: Callable[[TenantStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with RedisSettings().client() as redis:
            return await work(TenantStore(redis))

    return asyncio.run(run())


def cmd_tenants_create(args: argparse.Namespace) -> int:
    tenant = _with_store(lambda s: s.create_tenant(args.name, private_feeds=args.private_feeds))
    print(f"tenant {tenant.name} created ({_feeds(tenant)} feeds)")
    return 0


def cmd_tenants_update(args: argparse.Namespace) -> int:
    if args.private_feeds is None and args.store_comments is None:
        raise ValueError("name a setting: --private-feeds, --public-feeds or --store-comments")
    store_comments = None if args.store_comments is None else args.store_comments == "on"
    tenant = _with_store(
        lambda s: s.update_tenant(
            args.name, private_feeds=args.private_feeds, store_comments=store_comments
        )
    )
    print(f"tenant {tenant.name}: {_feeds(tenant)} feeds, store-comments {_stores(tenant)}")
    return 0


def cmd_tenants_list(args: argparse.Namespace) -> int:
    found = _with_store(lambda s: s.tenants())
    print(f"{'TENANT':<32} {'FEEDS':<8} {'STORE-COMMENTS':<15} CREATED")
    for tenant in found:
        print(
            f"{tenant.name:<32} {_feeds(tenant):<8} {_stores(tenant):<15}"
            f" {_time(tenant.created_at)}"
        )
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    key, record = _with_store(
        lambda s: s.create_key(
            args.tenant,
            args.scopes,
            expires_at=args.expires,
            requests_per_minute=args.requests_per_minute,
        )
    )
    print(f"key {record.key_id} for tenant {args.tenant}: {_describe(record)}")
    print("keep this key: it is stored hashed and not shown again")
    print(key)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    async def listing(store: TenantStore) -> list[ApiKey]:
        if await store.tenant(args.tenant) is None:
            raise ValueError(f"no tenant {args.tenant!r}")
        return await store.keys(args.tenant)

    found = _with_store(listing)
    print(f"{'ID':<13} {'STATE':<8} {'CREATED':<21} {'EXPIRES':<21} {'RATE/MIN':<9} SCOPES")
    for key in found:
        expires = _time(key.expires_at) if key.expires_at else "-"
        rate = str(key.requests_per_minute or "default")
        scopes = ",".join(sorted(key.scopes))
        print(
            f"{key.key_id:<13} {key.state():<8} {_time(key.created_at):<21} {expires:<21}"
            f" {rate:<9} {scopes}"
        )
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    record = _with_store(lambda s: s.revoke(args.tenant, args.key_id))
    print(f"key {record.key_id} of tenant {args.tenant} revoked")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    key, new, old = _with_store(lambda s: s.rotate(args.tenant, args.key_id, args.grace))
    assert old.expires_at is not None
    print(f"key {old.key_id} of tenant {args.tenant} expires {_time(old.expires_at)}")
    print(f"key {new.key_id} replaces it: {_describe(new)}")
    print("keep this key: it is stored hashed and not shown again")
    print(key)
    return 0


def _describe(key: ApiKey) -> str:
    expires = f", expires {_time(key.expires_at)}" if key.expires_at else ""
    rate = f", {key.requests_per_minute} requests a minute" if key.requests_per_minute else ""
    return f"scopes {','.join(sorted(key.scopes))}{expires}{rate}"


def _feeds(tenant: Tenant) -> str:
    return "private" if tenant.private_feeds else "public"


def _stores(tenant: Tenant) -> str:
    return "on" if tenant.store_comments else "off"


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
