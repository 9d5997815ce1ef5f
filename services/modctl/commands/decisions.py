"""modctl decisions export: a tenant's moderator decisions as JSONL, its own labelled data."""

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from services.common.settings import RedisSettings
from services.publisher.labels import LabelledDecision, moderator_decisions


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    decisions = commands.add_parser("decisions", help="the moderators' decisions of a tenant")
    actions = decisions.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export",
        help="every moderator verdict with the machine's scores of the time, as JSONL",
    )
    export.add_argument("tenant")
    export.add_argument("--output", type=Path, help="default: standard output")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    rows = asyncio.run(_decisions(args.tenant))
    lines = "".join(row.model_dump_json() + "\n" for row in rows)
    if args.output is None:
        sys.stdout.write(lines)
    else:
        args.output.write_text(lines, encoding="utf-8")
        print(f"{len(rows)} decisions of tenant {args.tenant!r} written to {args.output}")
    return 0


async def _decisions(tenant: str) -> list[LabelledDecision]:
    async with RedisSettings().client() as redis:
        return await moderator_decisions(redis, tenant)
