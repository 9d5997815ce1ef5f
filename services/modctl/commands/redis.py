"""modctl redis migrate: bring an existing Redis to the current key layout, or copy it to
another topology (REDIS_MODE sentinel or cluster)."""

import argparse
import asyncio
from collections import Counter
from typing import Any

from services.common.settings import RedisSettings
from services.modctl.redis_migrate import migrate


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    redis = commands.add_parser("redis", help="the Redis key layout and topology")
    actions = redis.add_subparsers(dest="action", required=True)
    move = actions.add_parser(
        "migrate",
        help="copy a Redis into the configured one (REDIS_MODE, REDIS_URL, ...) in the current "
        "key layout; stop the services first",
    )
    source = move.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--from", dest="source", metavar="URL", help="the Redis to copy from (redis://host:port/db)"
    )
    source.add_argument(
        "--in-place",
        action="store_true",
        help="rename the configured Redis's keys of the earlier layout where they are",
    )
    move.set_defaults(handler=cmd_migrate)


async def _migrate(source_url: str | None) -> Counter[str]:
    target_settings = RedisSettings()
    async with target_settings.client() as target:
        if source_url is None:
            if target_settings.mode == "cluster":
                raise SystemExit("--in-place needs one server: use --from on a cluster")
            return await migrate(target, target, in_place=True)
        async with RedisSettings(url=source_url, mode="standalone").client() as source:
            return await migrate(source, target, in_place=False)


def cmd_migrate(args: argparse.Namespace) -> int:
    done = asyncio.run(_migrate(args.source))
    print(" ".join(f"{what}={n}" for what, n in sorted(done.items())) or "nothing to move")
    return 0
