"""The pipeline benchmark's figures: printed against the targets, and stored per run."""

import json
import platform
import socket
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[3] / "bench" / "results"

# (figure, target, True when higher is better): the targets on 2 cores, embedded engine.
TARGETS = (
    ("ratio", 0.9, True),
    ("pipeline_cps", 100.0, True),
    ("p99_feed_ms_at_half_load", 300.0, False),
    ("duplicate_speedup", 1.8, True),
    ("worker_rss_mb", 1536.0, False),
)
# The Detoxify engine (bert-base shape): against a naive per-comment loop, and a memory limit
# of its own.
DETOXIFY_TARGETS = (
    ("pipeline_vs_naive", 4.0, True),
    ("worker_rss_mb", 2560.0, False),
)


def machine() -> dict[str, Any]:
    import os

    return {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def summary(figures: dict[str, Any], command: str) -> str:
    m = figures["machine"]
    lines = [
        f"modctl bench pipeline, {figures['date']}, {m['host']} ({m['cpus']} CPUs), "
        f"engine {figures['engine']}, worker batch {figures['worker_batch']}",
        f"command: {command}",
        "",
    ]
    lines += figures.get("phase_lines", [])
    lines += [
        "",
        f"scorer alone            {figures['scorer_cps']:8.1f} comments/s",
        f"pipeline (to verdict)   {figures['pipeline_cps']:8.1f} comments/s"
        f"  ratio {figures['ratio']:.2f}",
        f"p99 submitted-to-feed at half load  {figures['p99_feed_ms_at_half_load']} ms",
        f"50% repeats vs all-unique  {figures['duplicate_speedup']:.2f}x",
        f"one worker {figures['one_worker_cps']:.1f}/s,"
        f" two workers {figures['two_worker_cps']:.1f}/s",
        "peak RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in figures["peak_rss_mb"].items()),
        "CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in figures["cpu_seconds"].items()),
        "",
    ]
    if "naive_cps" in figures:
        lines.insert(
            -1,
            f"naive Detoxify.predict loop {figures['naive_cps']:.1f} comments/s,"
            f" pipeline {figures['pipeline_vs_naive']:.2f}x",
        )
    for key, target, higher in DETOXIFY_TARGETS if figures["engine"] == "detoxify" else TARGETS:
        value = figures.get(key)
        ok = value is not None and (value >= target if higher else value < target)
        sign = ">=" if higher else "<"
        lines.append(f"{'met ' if ok else 'MISS'}  {key} = {value} (target {sign} {target:g})")
    return "\n".join(lines)


def store(figures: dict[str, Any], text: str, results: Path = RESULTS) -> Path:
    """bench/results/<date>-<host>.json and .txt: one pair per run."""
    results.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{figures['machine']['host']}-{figures['engine']}"
    (results / f"{stem}.json").write_text(json.dumps(figures, indent=2) + "\n")
    (results / f"{stem}.txt").write_text(text + "\n")
    return results / f"{stem}.json"
