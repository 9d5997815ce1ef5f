"""`modctl bench` / `modctl bench pipeline`: the end-to-end benchmark's options and output."""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from services.modctl.processes import DATA, ROOT

QUICK_COMMENTS, FULL_COMMENTS = 600, 2000


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="the development data the comment texts come from (default ../shared/data)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller streams: about 5 minutes")
    parser.add_argument("--comments", type=int, help="comments per full-speed stream")
    parser.add_argument("--half-load-seconds", type=float, help="length of the 50%% load stream")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--no-store", action="store_true", help="do not write bench/results/")
    parser.add_argument("--engine", choices=("embedded", "detoxify"), default="embedded")
    parser.add_argument(
        "--checkpoint", type=Path, help="Detoxify checkpoint (e.g. a bert-base-shaped one)"
    )
    parser.add_argument("--config-dir", type=Path, help="Detoxify's HF config/tokenizer dir")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the services during the full-speed stream"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the services (a lever to compare), repeatable",
    )
    parser.add_argument("--worker-batch", type=int, default=128, help="MODERATION_BATCH_SIZE")
    parser.set_defaults(handler=cmd_pipeline)


def register_pipeline(
    bench: argparse.ArgumentParser, which: "argparse._SubParsersAction[Any]"
) -> None:
    _options(bench)
    _options(which.add_parser("pipeline", help="the whole pipeline against the scorer alone"))


def cmd_pipeline(args: argparse.Namespace) -> int:
    from services.modctl.bench.pipeline import Options, run_pipeline_bench
    from services.modctl.bench.report import machine, store, summary

    if args.engine == "detoxify" and args.checkpoint is None:
        raise ValueError("--engine detoxify needs --checkpoint (and usually --config-dir)")
    comments = args.comments or (QUICK_COMMENTS if args.quick else FULL_COMMENTS)
    half = args.half_load_seconds or (15.0 if args.quick else 60.0)
    options = Options(
        data=args.data,
        out_dir=DATA / "bench",
        comments=comments,
        half_load_seconds=half,
        engine=args.engine,
        checkpoint=args.checkpoint,
        config_dir=args.config_dir,
        worker_batch=args.worker_batch,
        profile=args.profile,
        extra_env=dict(_assignment(a) for a in args.set),
    )
    figures = run_pipeline_bench(options, lambda line: print(line, flush=True))
    figures["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    figures["machine"] = machine()
    command = "modctl " + shlex.join(sys.argv[1:])
    text = summary(figures, command)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if not args.no_store:
        print(f"stored {store(figures, text)} (and .txt)")
    return 0


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"--set {text!r}: expected NAME=VALUE")
    return name, value
