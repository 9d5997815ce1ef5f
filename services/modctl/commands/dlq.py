"""modctl dlq list|replay: inspect the dead-letter topic and re-drive what is in it."""

import argparse
import asyncio
from typing import Any

from services.common.dlq import DeadLetter, list_dead_letters, replay_dead_letters
from services.common.settings import KafkaSettings

PREVIEW_BYTES = 80


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    dlq = commands.add_parser("dlq", help="the dead-letter topic: list or replay")
    actions = dlq.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every dead letter: where it came from and why").set_defaults(
        handler=cmd_list
    )
    actions.add_parser(
        "replay", help="produce dead letters not replayed before back to their source topic"
    ).set_defaults(handler=cmd_replay)


def describe(letter: DeadLetter) -> str:
    source = "{}[{}]@{}".format(
        letter.source_topic or "?",
        letter.headers.get("dlq.source.partition", "?"),
        letter.headers.get("dlq.source.offset", "?"),
    )
    preview = letter.value[:PREVIEW_BYTES].decode("utf-8", errors="replace").replace("\n", " ")
    more = "..." if len(letter.value) > PREVIEW_BYTES else ""
    key = (letter.key or b"").decode("utf-8", errors="replace") or "-"
    size = f"{len(letter.value)} B"
    return (
        f"{letter.partition}:{letter.offset}  key={key}  {source}  {size}  {letter.error}"
        f"  | {preview}{more}"
    )


def cmd_list(args: argparse.Namespace) -> int:
    letters = asyncio.run(list_dead_letters(KafkaSettings()))
    for letter in letters:
        print(describe(letter))
    print(f"{len(letters)} dead letters")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    replayed = asyncio.run(replay_dead_letters(KafkaSettings()))
    for letter in replayed:
        print(f"replayed {describe(letter)}")
    print(f"{len(replayed)} replayed")
    return 0
