"""The pipeline benchmark's figures: printed against the targets, and stored per run."""

import json
import platform
import socket
import time
from pathlib import Path
from typing import Any

from services.modctl.bench.texts import describe_lengths

RESULTS = Path(__file__).resolve().parents[3] / "bench" / "results"

# (figure, target, True when higher is better): the targets on 2 cores, embedded engine, at
# news length.
TARGETS = (
    ("scorer_vs_encoder", 0.9, True),
    ("ratio", 0.9, True),
    ("p99_feed_ms_at_half_load", 300.0, False),
    ("duplicate_speedup", 1.8, True),
    ("worker_rss_mb", 600.0, False),
    ("score_first_answer_s", 3.0, False),
)
# The Detoxify engine (bert-base shape): against a naive per-comment loop, and a memory limit
# of its own.
DETOXIFY_TARGETS = (
    ("pipeline_vs_naive", 4.0, True),
    ("worker_rss_mb", 2560.0, False),
)


# The CPU features that decide which number formats run fast; stated beside every figure.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def machine() -> dict[str, Any]:
    import os

    from services.moderation.scoring.precision import cpu_flags

    flags = cpu_flags()
    return {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "cpu_flags": [f for f in SPEED_FLAGS if f in flags],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def summary(figures: dict[str, Any], command: str) -> str:
    m = figures["machine"]
    lines = [
        f"modctl bench pipeline, {figures['date']}, {m['host']} ({m['cpus']} CPUs), "
        f"engine {figures['engine']}, worker batch {figures['worker_batch']}",
        f"CPU: {m.get('cpu', 'unknown')}; flags: {', '.join(m.get('cpu_flags', [])) or 'none'}",
        f"command: {command}",
        "",
    ]
    lines += figures.get("phase_lines", [])
    lines += [
        "",
        f"comments: {describe_lengths(figures['news_length'])}" if "news_length" in figures else "",
        f"scorer alone            {figures['scorer_cps']:8.1f} comments/s",
        f"bare encoder            {figures.get('encoder_cps', 0.0):8.1f} comments/s"
        f"  scorer/encoder {figures.get('scorer_vs_encoder', 0.0):.2f}",
        f"scorer, short mix       {figures.get('short_scorer_cps', 0.0):8.1f} comments/s",
        f"modctl score first answer {figures.get('score_first_answer_s')} s",
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
