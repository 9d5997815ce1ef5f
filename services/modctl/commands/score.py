"""modctl score: JSONL in, JSONL out, offline, with the worker's scoring code."""

import argparse
import sys
from typing import Any

from services.moderation.engines import ENGINES


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    score = commands.add_parser("score", help="score JSONL offline: {id, text, article_text}")
    score.add_argument("--input", type=argparse.FileType("r", encoding="utf-8"), default=sys.stdin)
    score.add_argument(
        "--output", type=argparse.FileType("w", encoding="utf-8"), default=sys.stdout
    )
    score.add_argument("--batch", type=int, default=64)
    score.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="scoring engine (default: MODERATION_ENGINE, else embedded)",
    )
    score.set_defaults(handler=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    # Imported here: loading torch is slow and other commands don't need it.
    from services.modctl.score import score_stream
    from services.moderation.engines import load_engine
    from services.moderation.settings import ModerationSettings

    settings = ModerationSettings()
    engine = load_engine(args.engine or settings.engine, settings)
    try:
        count = score_stream(engine, settings.policy, args.input, args.output, args.batch)
    finally:
        for stream in (args.input, args.output):
            if stream not in (sys.stdin, sys.stdout):
                stream.close()
    print(f"scored {count}", file=sys.stderr)
    return 0
