"""modctl seed: load an article-with-comments file through the ingest API."""

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

from services.common.settings import RedisSettings
from services.common.tenants import Scope, TenantStore
from services.modctl import processes
from services.modctl.seed import load_seed

# A key minted for one seed run (--tenant) works for this long, then expires by itself.
SEED_KEY_SECONDS = 600


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    seed = commands.add_parser("seed", help="load an article-with-comments file through ingest")
    seed.add_argument("file", type=Path)
    who = seed.add_mutually_exclusive_group()
    who.add_argument(
        "--key",
        default=os.environ.get("MODCTL_API_KEY"),
        help="an API key with the ingest scope; the tenant is the key's (default $MODCTL_API_KEY)",
    )
    who.add_argument(
        "--tenant", help="mint a short-lived ingest key for this tenant in Redis (created if new)"
    )
    seed.add_argument("--ingest-url", default=processes.services()[0].url)
    seed.set_defaults(handler=cmd_seed)


async def seed_key(tenant: str) -> str:
    async with RedisSettings().client() as redis:
        store = TenantStore(redis)
        await store.create_tenant(tenant, exist_ok=True)
        expires = time.time() + SEED_KEY_SECONDS
        key, _ = await store.create_key(tenant, frozenset({Scope.INGEST}), expires_at=expires)
        return key


def cmd_seed(args: argparse.Namespace) -> int:
    key = asyncio.run(seed_key(args.tenant)) if args.tenant else args.key
    if not key:
        raise ValueError("--key KEY (`modctl keys create TENANT`) or --tenant TENANT")
    article = load_seed(args.file, args.ingest_url, key)
    print(f"article {article.article_id}: {len(article.comments)} comments submitted")
    return 0
