"""modctl bench: measurements that print ratios taken in one run (not tests)."""

import argparse
import asyncio
import json
from pathlib import Path
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
    scorer = which.add_parser(
        "scorer",
        help="engines alone at news length: batch 1/8/32, the bare encoder, a naive Detoxify loop",
    )
    scorer.add_argument("--engines", default="embedded,detoxify", help="comma-separated")
    scorer.add_argument("--texts", type=int, default=256, help="comments per measurement")
    scorer.add_argument("--data", type=Path, default=Path("../shared/data"))
    scorer.add_argument(
        "--shape", default="original", help="Detoxify model shape (random weights): original, tiny"
    )
    scorer.add_argument("--no-int8", action="store_true", help="skip the int8 Detoxify engine")
    scorer.add_argument("--json", type=Path, default=None, help="also write the figures here")
    scorer.set_defaults(handler=cmd_scorer)
    scale = which.add_parser(
        "scale",
        help="one worker vs three on the three-broker Kafka and the Redis Cluster, and the "
        "cost of one comment in CPU, Kafka bytes, Redis commands and memory",
    )
    scale.add_argument("--comments", type=int, default=1500, help="comments per measured stream")
    scale.add_argument("--data", type=Path, default=Path("../shared/data"))
    scale.add_argument("--json", type=Path, default=None, help="also write the figures here")
    scale.set_defaults(handler=cmd_scale)


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


def cmd_scorer(args: argparse.Namespace) -> int:
    from services.modctl.bench.report import machine
    from services.modctl.bench.scorer import measure
    from services.modctl.bench.texts import news_length_mix, news_sources, short_mix

    if args.texts < 1:
        raise ValueError("--texts: must be at least 1")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    texts = news_length_mix(news_sources(args.data), args.texts)
    short = short_mix(args.data, args.texts)
    report = measure(texts, short, engines, args.shape, quantize=not args.no_int8)
    found = machine()
    print(f"{found['cpus']} CPUs, {found['cpu']}; flags: {', '.join(found['cpu_flags']) or 'none'}")
    for line in report.lines():
        print(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = report.as_dict() | {"machine": found}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    from services.modctl.bench.report import machine
    from services.modctl.bench.scale import Options, run_scale_bench
    from services.modctl.processes import DATA

    options = Options(data=args.data, out_dir=DATA / "bench", comments=args.comments)
    found = run_scale_bench(options, print)
    found["machine"] = machine()
    print(f"three workers / one: {found['three_vs_one']} ({found['machine']})")
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))
    return 0
