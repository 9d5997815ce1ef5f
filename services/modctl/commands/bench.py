"""modctl bench: measurements that print ratios taken in one run (not tests)."""

import argparse
import asyncio
from statistics import median
from typing import Any

from services.common.settings import KafkaSettings


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    bench = commands.add_parser("bench", help="benchmarks (ratios measured in one run)")
    which = bench.add_subparsers(dest="benchmark", required=True)
    tx = which.add_parser("transactions", help="the worker's loop: plain vs Kafka transactions")
    tx.add_argument("--records", type=int, default=20_000)
    tx.add_argument("--batch", type=int, default=32)
    tx.set_defaults(handler=cmd_transactions)


def cmd_transactions(args: argparse.Namespace) -> int:
    from services.modctl.bench.transactions import measure

    results = asyncio.run(measure(KafkaSettings(), args.records, args.batch))
    for r in results:
        print(f"{r.mode:14} {r.records} records in {r.seconds:.2f}s = {r.per_second:,.0f}/s")
    plain = median(r.per_second for r in results if r.mode == "plain")
    tx = median(r.per_second for r in results if r.mode == "transactional")
    print(f"transactional/plain throughput ratio: {tx / plain:.2f} (batch {args.batch})")
    return 0
