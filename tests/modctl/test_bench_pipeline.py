"""The pipeline benchmark's machinery on a tiny load: every figure is there and makes sense.

Not a timing test: the figures are checked for shape and consistency, not against targets.
"""

import random
from pathlib import Path

import pytest

from services.modctl.bench.corpus import Corpus, load_articles
from services.modctl.bench.pipeline import Options, run_pipeline_bench
from services.modctl.bench.report import summary

KEYS = (
    "scorer_cps",
    "encoder_cps",
    "scorer_vs_encoder",
    "short_scorer_cps",
    "score_first_answer_s",
    "pipeline_cps",
    "ratio",
    "p99_feed_ms_at_half_load",
    "duplicate_speedup",
    "two_worker_cps",
    "worker_rss_mb",
)
WORDS = [
    "budget",
    "council",
    "library",
    "bus",
    "route",
    "parking",
    "fee",
    "fire",
    "station",
    "school",
    "park",
    "road",
    "tax",
]


def texts(count: int) -> list[str]:
    """Distinct, plain comments: all approved, so every one is also counted in the feed."""
    rng = random.Random(3)
    return [
        f"Comment {i}: the {' and the '.join(rng.sample(WORDS, 3))} matter to this city."
        for i in range(count)
    ]


def test_a_stream_with_repeats_copies_earlier_texts_only() -> None:
    corpus = Corpus(texts(100), load_articles())
    stream = corpus.stream("s", 40, repeat_share=0.5)
    bodies = [c.body for c in stream]
    assert len(stream) == 40
    assert len({c.comment_id for c in stream}) == 40
    assert len(set(bodies)) == 20
    for i, body in enumerate(bodies):
        assert body in bodies[: i + 1]  # a repeat never comes before its first posting
    assert {c.article_id for c in stream} == {a.article_id for a in corpus.articles}


@pytest.mark.kafka
@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_tiny_benchmark_run_reports_every_figure(kafka_bootstrap: str, tmp_path: Path) -> None:
    options = Options(
        data=tmp_path,  # unused: the texts are given
        out_dir=tmp_path,
        comments=40,
        half_load_seconds=2.0,
        warm_up=8,
        worker_batch=32,  # the scorer alone then times 4 x 32 texts, not 4 x 128
        bootstrap=kafka_bootstrap,
        settle_seconds=120.0,
    )
    figures = run_pipeline_bench(options, lambda _: None, texts=texts(1000))

    for key in KEYS:
        assert isinstance(figures[key], float), key
        assert figures[key] > 0, key
    assert figures["ratio"] == pytest.approx(figures["pipeline_cps"] / figures["scorer_cps"], 0.01)
    assert figures["scorer_vs_encoder"] == pytest.approx(
        figures["scorer_cps"] / figures["encoder_cps"], 0.01
    )
    assert 100 < figures["worker_rss_mb"] < 4096
    assert set(figures["peak_rss_mb"]) == {"ingest", "publisher", "worker", "worker2"}
    assert all(seconds > 0 for seconds in figures["cpu_seconds"].values())
    for name in ("full", "half", "unique", "repeats", "two_workers"):
        phase = figures["phases"][name]
        assert phase["approved"] > 0, name  # the feed was reached, so its latency is measured
        v, f = phase["verdict_ms"], phase["feed_ms"]
        assert 0 <= v["p50"] <= v["p95"] <= v["p99"], name
        assert 0 <= f["p50"] <= f["p95"] <= f["p99"], name
    figures |= {"date": "today", "machine": {"host": "h", "cpus": 2}}
    assert "duplicate_speedup" in summary(figures, "modctl bench")


def test_detoxify_runs_are_judged_against_the_naive_loop() -> None:
    figures = {
        "date": "today",
        "machine": {"host": "h", "cpus": 2},
        "engine": "detoxify",
        "worker_batch": 32,
        "scorer_cps": 57.0,
        "pipeline_cps": 50.0,
        "ratio": 0.88,
        "p99_feed_ms_at_half_load": 900.0,
        "duplicate_speedup": 1.5,
        "one_worker_cps": 48.0,
        "two_worker_cps": 55.0,
        "peak_rss_mb": {"worker": 2100.0},
        "cpu_seconds": {"worker": 60.0},
        "worker_rss_mb": 2100.0,
        "naive_cps": 12.0,
        "pipeline_vs_naive": 4.17,
    }
    text = summary(figures, "modctl bench --engine detoxify")
    assert "naive Detoxify.predict loop 12.0 comments/s, pipeline 4.17x" in text
    assert "met   pipeline_vs_naive = 4.17 (target >= 4)" in text
    assert "met   worker_rss_mb = 2100.0 (target < 2560)" in text
    assert "ratio =" not in text  # the embedded engine's targets do not apply
