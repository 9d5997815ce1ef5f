"""modctl status: rates, verdict mix, latency, lag, review queue and dead letters, like `top`."""

import argparse
import sys
import time
from typing import Any

from services.modctl import processes
from services.modctl.status import render, scrape

CLEAR = "\x1b[H\x1b[2J"


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    status = commands.add_parser("status", help="the running system at a glance, refreshing")
    ingest, moderation, publisher, *_ = processes.services()
    status.add_argument("--ingest-url", default=ingest.url)
    status.add_argument("--moderation-url", default=moderation.url)
    status.add_argument("--publisher-url", default=publisher.url)
    status.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    status.add_argument("--once", action="store_true", help="print one snapshot and exit")
    status.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    urls = {
        "ingest": args.ingest_url,
        "moderation": args.moderation_url,
        "publisher": args.publisher_url,
    }
    before = scrape(urls)
    if args.once:
        time.sleep(args.interval)  # rates need a second scrape
        print("\n".join(render(before, scrape(urls))))
        return 0 if any(before.up.values()) else 1
    try:
        while True:
            time.sleep(args.interval)
            now = scrape(urls)
            show(render(before, now))
            before = now
    except KeyboardInterrupt:
        return 0


def show(lines: list[str]) -> None:
    stamp = time.strftime("%H:%M:%S")
    sys.stdout.write(f"{CLEAR}modctl status  {stamp}  (Ctrl-C quits)\n\n" + "\n".join(lines) + "\n")
    sys.stdout.flush()
