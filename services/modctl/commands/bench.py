"""modctl bench: measurements that print ratios taken in one run (not tests)."""

import argparse
import asyncio
from statistics import median
from typing import Any

from services.common.settings import KafkaSettings
from services.modctl.commands.bench_pipeline import register_pipeline


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    bench = commands.add_parser("bench", help="benchmarks (ratios measured in one run)")
    # A bare `modctl bench` is the end-to-end pipeline benchmark.
    which = bench.add_subparsers(dest="benchmark")
    register_pipeline(bench, which)
    tx = which.add_parser("transactions", help="the worker's loop: plain vs Kafka transactions")
    tx.add_argument("--records", type=int, default=20_000)
    tx.add_argument("--batch", type=int, default=32)
    tx.set_defaults(handler=cmd_transactions)
    api = which.add_parser("perspective", help="Perspective API latency vs the scorer alone")
    api.add_argument("--rate", type=float, default=10.0, help="requests a second")
    api.add_argument("--seconds", type=float, default=30.0)
    api.set_defaults(handler=cmd_perspective)


def cmd_transactions(args: argparse.Namespace) -> int:
    from services.modctl.bench.transactions import measure

    results = asyncio.run(measure(KafkaSettings(), args.records, args.batch))
    for r in results:
        print(f"{r.mode:14} {r.records} records in {r.seconds:.2f}s = {r.per_second:,.0f}/s")
    plain = median(r.per_second for r in results if r.mode == "plain")
    tx = median(r.per_second for r in results if r.mode == "transactional")
    print(f"transactional/plain throughput ratio: {tx / plain:.2f} (batch {args.batch})")
    return 0


def cmd_perspective(args: argparse.Namespace) -> int:
    from services.modctl.bench.perspective import measure

    results = asyncio.run(measure(args.rate, args.seconds))
    print(f"{args.rate:g} requests/s for {args.seconds:g}s, engine as MODERATION_ENGINE sets it")
    for latencies in results:
        print(latencies.line())
    verdict = "within" if results[0].p99 < 0.2 else "OVER"
    print(f"API p99 {results[0].p99 * 1000:.1f} ms: {verdict} the 200 ms budget")
    return 0
