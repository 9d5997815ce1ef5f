"""modctl webhooks dead|replay: deliveries whose retries all failed, and sending them again."""

import argparse
import asyncio
from typing import Any

from services.common.settings import RedisSettings
from services.webhooks.deliveries import Delivery, DeliveryStore
from services.webhooks.settings import WebhookSettings


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    hooks = commands.add_parser("webhooks", help="webhook dead letters: list or replay")
    actions = hooks.add_subparsers(dest="action", required=True)
    dead = actions.add_parser("dead", help="dead-lettered deliveries, oldest first")
    dead.add_argument("--tenant", help="only this tenant's")
    dead.set_defaults(handler=cmd_dead)
    replay = actions.add_parser(
        "replay", help="give dead-lettered deliveries a new round of retries, now"
    )
    replay.add_argument("--tenant", help="only this tenant's")
    replay.set_defaults(handler=cmd_replay)


def describe(delivery: Delivery) -> str:
    last = delivery.attempts[-1] if delivery.attempts else None
    why = (last.error or f"HTTP {last.status_code}") if last else "-"
    return (
        f"{delivery.tenant_id}  {delivery.id}  {delivery.event_type}  {delivery.event_id}"
        f"  {delivery.url}  attempts={len(delivery.attempts)}  last: {why}"
    )


def _store(redis: Any) -> DeliveryStore:
    settings = WebhookSettings()
    return DeliveryStore(redis, settings.retry_schedule_seconds, settings.retry_jitter)


async def dead_deliveries(tenant: str | None) -> list[Delivery]:
    async with RedisSettings().client() as redis:
        return await _store(redis).dead_letters(tenant)


async def replay(tenant: str | None) -> list[Delivery]:
    async with RedisSettings().client() as redis:
        return await _store(redis).replay(tenant)


def cmd_dead(args: argparse.Namespace) -> int:
    found = asyncio.run(dead_deliveries(args.tenant))
    for delivery in found:
        print(describe(delivery))
    print(f"{len(found)} dead deliveries")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    replayed = asyncio.run(replay(args.tenant))
    for delivery in replayed:
        print(f"replayed {describe(delivery)}")
    print(f"{len(replayed)} replayed")
    return 0
