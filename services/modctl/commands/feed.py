"""modctl feed rebuild: restore the publisher's Redis views from comments.moderated."""

import argparse
import asyncio
from typing import Any

from services.common.settings import KafkaSettings, RedisSettings
from services.publisher.rebuild import rebuild_views


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    feed = commands.add_parser("feed", help="the article feeds and review queues in Redis")
    actions = feed.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "rebuild", help="replay comments.moderated into Redis (safe while running)"
    ).set_defaults(handler=cmd_rebuild)


async def _rebuild() -> dict[str, int]:
    async with RedisSettings().client() as redis:
        return dict(await rebuild_views(KafkaSettings(), redis))


def cmd_rebuild(args: argparse.Namespace) -> int:
    counts = asyncio.run(_rebuild())
    print(" ".join(f"{outcome}={count}" for outcome, count in sorted(counts.items())) or "empty")
    return 0
