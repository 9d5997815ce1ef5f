"""modctl perspective-tenant: a tenant's Perspective API options."""

import argparse
import asyncio
from typing import Any

from services.common.settings import RedisSettings
from services.perspective.tenants import TenantOptions


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    tenant = commands.add_parser(
        "perspective-tenant", help="a tenant's Perspective API options: show or change"
    )
    tenant.add_argument("tenant")
    tenant.add_argument(
        "--store-comments",
        choices=["on", "off"],
        help="analyze calls with doNotStore: false feed the moderation pipeline (default off)",
    )
    tenant.set_defaults(handler=cmd_tenant)


async def apply(tenant: str, store_comments: str | None) -> bool:
    async with RedisSettings().client() as redis:
        options = TenantOptions(redis)
        if store_comments is not None:
            await options.set_stores_comments(tenant, store_comments == "on")
        return await options.stores_comments(tenant)


def cmd_tenant(args: argparse.Namespace) -> int:
    stores = asyncio.run(apply(args.tenant, args.store_comments))
    print(f"tenant {args.tenant}: store-comments {'on' if stores else 'off'}")
    return 0
