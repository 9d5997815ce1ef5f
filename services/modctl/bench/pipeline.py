"""`modctl bench pipeline`: the scorer alone (beside the bare encoder, on news-length comments,
and on the short mix), then the whole pipeline as processes (ingest, one worker, publisher; a
Kafka namespace and a Redis of the run's own) on the news-length comments, and `modctl
score`'s cold start, in one run on one machine."""

import asyncio
import gc
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from services.common.settings import KafkaSettings
from services.common.topics import delete_topics, ensure_topics
from services.modctl.bench.corpus import Comment, Corpus, load_articles, load_texts
from services.modctl.bench.encoder import best, encoder_rates
from services.modctl.bench.first_answer import score_first_answer_seconds
from services.modctl.bench.load import Poster
from services.modctl.bench.observe import Observer
from services.modctl.bench.procstats import (
    Profiler,
    Usage,
    kafka_pid,
    machine_busy_seconds,
    own_usage,
    usage,
)
from services.modctl.bench.rates import Rate, time_batches
from services.modctl.bench.scorer import as_worker_runs, naive_detoxify
from services.modctl.bench.texts import length_figures, short_mix
from services.modctl.processes import ServiceProcess
from services.modctl.testbed.infra import new_redis
from services.modctl.testbed.processes import System, running_system
from services.moderation.engines import load_engine
from services.moderation.settings import ModerationSettings

Say = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    data: Path
    out_dir: Path
    comments: int = 2000  # per full-speed stream
    half_load_seconds: float = 30.0
    batch: int = 50  # comments per HTTP request at full speed
    senders: int = 4
    engine: str = "embedded"
    checkpoint: Path | None = None
    config_dir: Path | None = None
    worker_batch: int = 128
    settle_seconds: float = 300.0
    warm_up: int = 64  # comments through the system before each timed part
    bootstrap: str | None = None  # Kafka; KAFKA_BOOTSTRAP_SERVERS when unset
    profile: bool = False  # py-spy the services during the full-speed stream
    extra_env: dict[str, str] = field(default_factory=dict)

    def engine_env(self) -> dict[str, str]:
        env = {
            "MODERATION_ENGINE": self.engine,
            "MODERATION_BATCH_SIZE": str(self.worker_batch),
            # The development texts were not written under these articles: without this most
            # would be held as off topic, and the feed (and its latency) would see few of them.
            "MODERATION_POLICY__RELEVANCE_FLOOR": "-1",
            **self.extra_env,
        }
        if self.checkpoint:
            env["MODERATION_DETOXIFY_CHECKPOINT"] = str(self.checkpoint.resolve())
        if self.config_dir:
            env["MODERATION_DETOXIFY_CONFIG_DIR"] = str(self.config_dir.resolve())
        return env

    def engine_settings(self) -> ModerationSettings:
        """The worker's settings from its environment, so the scorer alone runs the same model
        (`--set MODERATION_DETOXIFY_QUANTIZE=true` included)."""
        fields = {
            name.removeprefix("MODERATION_").lower(): value
            for name, value in self.engine_env().items()
            if name.startswith("MODERATION_") and "__" not in name
        }
        return ModerationSettings.model_validate(fields)


@dataclass
class Phase:
    """One stream through the pipeline: throughput and latencies to verdict and to feed."""

    name: str
    comments: int
    seconds: float
    verdict_cps: float
    feed_cps: float | None
    verdict_ms: dict[str, float]
    feed_ms: dict[str, float]
    approved: int
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    busy_cores: float = 0.0  # the whole machine's CPU use over the phase, in cores
    offered_cps: float | None = None

    def line(self) -> str:
        v, f = self.verdict_ms, self.feed_ms
        offered = f" offered {self.offered_cps:.0f}/s," if self.offered_cps else ""
        feed = f"p50/95/99 {f['p50']:.0f}/{f['p95']:.0f}/{f['p99']:.0f} ms" if f else "none"
        return (
            f"{self.name:14}{offered} {self.comments} comments in {self.seconds:.1f}s:"
            f" {self.verdict_cps:.1f} verdicts/s;"
            f" to verdict p50/95/99 {v['p50']:.0f}/{v['p95']:.0f}/{v['p99']:.0f} ms;"
            f" to feed ({self.approved} approved) {feed}; machine busy {self.busy_cores:.2f} cores"
        )


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1), "p99": round(float(p99), 1)}


def summarise(name: str, ids: list[str], poster: Poster, observer: Observer) -> Phase:
    seen = observer.arrivals
    submitted = [poster.submitted_ms[i] for i in ids]
    first = min(submitted)
    to_verdict = [seen.verdict_ms[i] - poster.submitted_ms[i] for i in ids]
    fed = [i for i in ids if i in seen.approved]
    to_feed = [seen.feed_ms[i] - poster.submitted_ms[i] for i in fed]
    verdict_span = (max(seen.verdict_ms[i] for i in ids) - first) / 1000
    feed_span = (max(seen.feed_ms[i] for i in fed) - first) / 1000 if fed else 0.0
    return Phase(
        name=name,
        comments=len(ids),
        seconds=round(verdict_span, 2),
        verdict_cps=round(len(ids) / verdict_span, 1),
        feed_cps=round(len(fed) / feed_span, 1) if feed_span else None,
        verdict_ms=percentiles(to_verdict),
        feed_ms=percentiles(to_feed),
        approved=len(fed),
    )


MACHINE = "machine"  # all processes on the machine, in the per-phase CPU seconds


class Run:
    """The phases, in order, against one running system."""

    observer: Observer

    def __init__(self, system: System, corpus: Corpus, options: Options, say: Say) -> None:
        self.system, self.corpus, self.options = system, corpus, options
        self.say = say
        self.tenant = f"bench-{uuid.uuid4().hex[:8]}"
        self.workers = [system.moderation]
        self.kafka_pid = kafka_pid()
        self.log_dir = system.moderation.log_dir

    def services(self) -> dict[str, ServiceProcess]:
        named = {"ingest": self.system.ingest, "publisher": self.system.publisher}
        for n, worker in enumerate(self.workers):
            named["worker" if n == 0 else f"worker{n + 1}"] = worker
        return named

    def usage(self) -> dict[str, Usage]:
        return {name: usage(s.process.pid) for name, s in self.services().items() if s.process}

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds so far: each service (its inference process included), the local Kafka
        broker, this process (the clients posting and observing), and the whole machine."""
        found = {name: u.cpu_seconds for name, u in self.usage().items()}
        if self.kafka_pid is not None:
            found["kafka"] = own_usage(self.kafka_pid).cpu_seconds
        found["bench"] = own_usage(os.getpid()).cpu_seconds
        found[MACHINE] = machine_busy_seconds()
        return found

    async def stream(
        self, client: httpx.AsyncClient, name: str, comments: list[Comment], rate: float | None
    ) -> Phase:
        poster = Poster(client, self.system.headers(self.tenant))
        profiler = self._profile(name) if self.options.profile and name == "full-speed" else None
        before, started = self.cpu_now(), time.monotonic()
        if rate is None:
            await poster.full_speed(comments, self.options.batch, self.options.senders)
        else:
            # About 20 requests a second, as a busy platform would send them.
            await poster.fixed_rate(comments, rate, batch=max(1, round(rate / 20)))
        ids = [c.comment_id for c in comments]
        await self.observer.settled(ids, self.options.settle_seconds)
        phase = summarise(name, ids, poster, self.observer)
        after, wall = self.cpu_now(), time.monotonic() - started
        if profiler is not None:
            profiler.stop()
        phase.cpu_seconds = {n: round(after[n] - before[n], 2) for n in before}
        phase.busy_cores = round(phase.cpu_seconds[MACHINE] / wall, 2)
        phase.offered_cps = rate
        self.say(phase.line())
        return phase

    async def warm_up(self, client: httpx.AsyncClient, name: str) -> None:
        """Model, caches and consumer assignments warm before anything is timed."""
        await self.stream(client, name, self.corpus.stream(name, self.options.warm_up), None)

    async def measure_observed(self, kafka: KafkaSettings) -> dict[str, Phase]:
        """The phases, with the observer reading the run's topics all along."""
        self.observer = Observer(kafka)
        await self.observer.start()
        try:
            return await self.measure()
        finally:
            await self.observer.stop()

    async def measure(self) -> dict[str, Phase]:
        o, c = self.options, self.corpus
        phases: dict[str, Phase] = {}
        async with httpx.AsyncClient(base_url=self.system.ingest.url, timeout=60) as client:
            await Poster(client, self.system.headers(self.tenant)).articles(c.articles)
            await self.warm_up(client, "warm-up")
            phases["full"] = await self.stream(
                client, "full-speed", c.stream("full", o.comments), None
            )
            rate = phases["full"].verdict_cps / 2
            half = c.stream("half", max(100, round(rate * o.half_load_seconds)))
            phases["half"] = await self.stream(client, "half-load", half, rate)
            phases["unique"] = await self.stream(
                client, "all-unique", c.stream("unique", o.comments), None
            )
            phases["repeats"] = await self.stream(
                client, "half-repeats", c.stream("repeats", o.comments, 0.5), None
            )
            await asyncio.to_thread(self._second_worker)
            await self.warm_up(client, "warm-up-2")
            phases["two_workers"] = await self.stream(
                client, "two-workers", c.stream("two", o.comments), None
            )
        return phases

    def _profile(self, name: str) -> "Profiler":
        return Profiler.start(
            {n: s.process.pid for n, s in self.services().items() if s.process},
            self.log_dir / f"profile-{name}",
        )

    def _second_worker(self) -> None:
        first = self.system.moderation
        second = ServiceProcess("moderation", first.env, log_dir=first.log_dir)
        self.workers.append(second)
        second.start()
        second.wait_ready()


def texts_needed(options: Options, scorer_texts: int) -> int:
    # warm-ups, full, unique, repeats (half new), two workers, the half-load stream, headroom
    half_load = round(options.half_load_seconds * 75)  # half of up to 150 news comments/s
    return scorer_texts + 2 * options.warm_up + round(3.5 * options.comments) + half_load + 100


NAIVE_TEXTS = 48  # the naive loop scores about 12 comments/s at bert-base shape


@dataclass(frozen=True)
class Alone:
    """The engine alone, no Kafka: the ceiling the pipeline is measured against."""

    scorer: Rate  # news-length texts, the worker's batch
    encoder: Rate | None  # the bare MiniLM forward pass on the same texts (embedded only)
    short: Rate  # the short mix, the worker's batch
    naive: Rate | None  # Detoxify only: a `Detoxify.predict` loop on the same float32 model


def scorer_alone(options: Options, texts: list[str], short: list[str]) -> Alone:
    """The scorer and the bare encoder measured twice, interleaved; the better of each counts."""
    engine = load_engine(options.engine, options.engine_settings())
    work = as_worker_runs(engine)
    batch = options.worker_batch
    encoder = None
    if options.engine == "embedded":
        bare = encoder_rates(texts)
        first = time_batches("scorer", work, texts, batch)
        bare += encoder_rates(texts)
        second = time_batches("scorer", work, texts, batch)
        scorer, encoder = max(first, second, key=lambda r: r.per_second), best(bare)
    else:
        scorer = time_batches("scorer", work, texts, batch)
    short_rate = time_batches("scorer, short mix", work, short, batch)
    naive = None
    if options.engine == "detoxify":
        loop = naive_detoxify(engine)
        naive = time_batches("naive", lambda t: loop.predict(t[0]), texts[:NAIVE_TEXTS], 1)
    del engine
    gc.collect()
    return Alone(scorer, encoder, short_rate, naive)


def run_pipeline_bench(
    options: Options, say: Say, texts: list[str] | None = None
) -> dict[str, Any]:
    """Every figure of the run; `texts` replaces the development data (the smoke test's)."""
    scorer_texts = max(4 * options.worker_batch, min(options.comments // 2, 1000))
    wanted = texts_needed(options, scorer_texts)
    corpus = Corpus(texts or load_texts(options.data, wanted), load_articles())
    say(f"scorer alone ({options.engine}, batch {options.worker_batch}) ...")
    measured = corpus.take(scorer_texts)
    short = corpus.take(scorer_texts) if texts else short_mix(options.data, scorer_texts)
    alone = scorer_alone(options, measured, short)
    say(f"scorer alone: {alone.scorer.per_second:.1f} comments/s over {alone.scorer.comments}")
    if alone.encoder is not None:
        say(f"bare encoder: {alone.encoder.per_second:.1f} comments/s ({alone.encoder.engine})")
    if alone.naive is not None:
        say(f"naive Detoxify.predict loop: {alone.naive.per_second:.1f} comments/s")
    first_answer = score_first_answer_seconds(options.engine_env())
    say(f"modctl score, cold start to first answer: {first_answer:.2f}s")
    root = options.out_dir / time.strftime("run-%Y%m%dT%H%M%S")
    redis = new_redis(root / "redis")
    kafka = KafkaSettings(namespace=f"bench-{uuid.uuid4().hex[:8]}.")
    if options.bootstrap:
        kafka = kafka.model_copy(update={"bootstrap_servers": options.bootstrap})
    redis.start()
    asyncio.run(ensure_topics(kafka))
    try:
        say(f"starting ingest, worker, publisher (Kafka namespace {kafka.namespace}, {redis.url})")
        with running_system(kafka, redis.url, root / "logs", options.engine_env()) as system:
            run = Run(system, corpus, options, say)
            try:
                phases = asyncio.run(run.measure_observed(kafka))
                peaks = {n: u.peak_rss_mb for n, u in run.usage().items()}
            finally:
                for worker in run.workers[1:]:  # the ones running_system did not start
                    worker.stop()
    finally:
        redis.stop()
        asyncio.run(delete_topics(kafka))
    found = figures(options, alone.scorer, phases, peaks)
    found["news_length"] = length_figures(measured)
    found["short_scorer_cps"] = round(alone.short.per_second, 1)
    found["score_first_answer_s"] = first_answer
    if alone.encoder is not None:
        found["encoder_cps"] = round(alone.encoder.per_second, 1)
        found["scorer_vs_encoder"] = round(alone.scorer.per_second / alone.encoder.per_second, 3)
    if alone.naive is not None:
        found["naive_cps"] = round(alone.naive.per_second, 1)
        found["pipeline_vs_naive"] = round(found["pipeline_cps"] / alone.naive.per_second, 2)
    return found


def figures(
    options: Options, scorer: Rate, phases: dict[str, Phase], peaks: dict[str, float]
) -> dict[str, Any]:
    full, half = phases["full"], phases["half"]
    names = dict.fromkeys(n for p in phases.values() for n in p.cpu_seconds)
    cpu = {n: sum(p.cpu_seconds.get(n, 0.0) for p in phases.values()) for n in names}
    return {
        "engine": options.engine,
        "worker_batch": options.worker_batch,
        "comments_per_stream": options.comments,
        "scorer_cps": round(scorer.per_second, 1),
        "pipeline_cps": full.verdict_cps,
        "pipeline_feed_cps": full.feed_cps,
        "ratio": round(full.verdict_cps / scorer.per_second, 3),
        "half_load_cps": half.offered_cps,
        "p50_feed_ms_at_half_load": half.feed_ms.get("p50"),
        "p95_feed_ms_at_half_load": half.feed_ms.get("p95"),
        "p99_feed_ms_at_half_load": half.feed_ms.get("p99"),
        "p99_verdict_ms_at_half_load": half.verdict_ms.get("p99"),
        "unique_cps": phases["unique"].verdict_cps,
        "repeats_cps": phases["repeats"].verdict_cps,
        "duplicate_speedup": round(phases["repeats"].verdict_cps / phases["unique"].verdict_cps, 2),
        "one_worker_cps": phases["unique"].verdict_cps,
        "two_worker_cps": phases["two_workers"].verdict_cps,
        "worker_rss_mb": peaks["worker"],
        "peak_rss_mb": peaks,
        "cpu_seconds": {n: round(v, 1) for n, v in cpu.items()},
        "phases": {name: p.__dict__ for name, p in phases.items()},
        "phase_lines": [p.line() for p in phases.values()],
    }
