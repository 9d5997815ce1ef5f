"""modctl soak: a long stream with faults injected at seeded random times (not a test)."""

import argparse
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    soak = commands.add_parser(
        "soak", help="a long stream with seeded faults through a bed of its own; prints the counts"
    )
    soak.add_argument("--comments", type=int, default=20_000)
    soak.add_argument(
        "--faults",
        type=int,
        metavar="SEED",
        required=True,
        help="seed of the fault schedule (the same seed, the same faults)",
    )
    soak.add_argument("--count", type=int, default=6, help="how many faults to inject")
    soak.set_defaults(handler=cmd_soak)


def cmd_soak(args: argparse.Namespace) -> int:
    from services.modctl.soak import run_soak

    tally = run_soak(args.comments, args.faults, args.count, lambda line: print(line, flush=True))
    print(tally.line())
    print(
        f"submitted={tally.submitted} verdicts={tally.verdicts} released={tally.released} "
        f"held={tally.held} dlq={tally.dlq} duplicates={tally.duplicates} lost={tally.lost}"
    )
    return 0 if tally.lost == 0 and tally.duplicates == 0 else 1
