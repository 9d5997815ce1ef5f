"""modctl perspective-keys: API keys for the Perspective-compatible API."""

import argparse
import asyncio
from typing import Any

from services.common.settings import RedisSettings
from services.perspective.keys import KeyStore


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    keys = commands.add_parser("perspective-keys", help="API keys for the Perspective endpoint")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new key for a tenant, printed once")
    create.add_argument("tenant")
    create.add_argument(
        "--quota-per-minute", type=int, help="requests a minute (default PERSPECTIVE_QUOTA_...)"
    )
    create.set_defaults(handler=cmd_create)


async def create_key(tenant: str, quota_per_minute: int | None = None) -> str:
    async with RedisSettings().client() as redis:
        return await KeyStore(redis).create(tenant, quota_per_minute)


def cmd_create(args: argparse.Namespace) -> int:
    key = asyncio.run(create_key(args.tenant, args.quota_per_minute))
    print(f"tenant {args.tenant}: keep this key, it is not shown again")
    print(key)
    return 0
