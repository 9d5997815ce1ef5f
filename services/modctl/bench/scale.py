"""`modctl bench scale`: the pipeline on the three-broker Kafka (replication 3, six partitions)
and the Redis Cluster (three masters, three replicas), first with one worker, then with three
on three processes; and what one comment costs: CPU milliseconds of each service, of the
brokers and of Redis, the Kafka bytes it writes, the Redis commands and memory it takes. The
measured basis of the README's capacity plan."""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis

from services.common.contract import TOPIC_LAYOUT
from services.common.settings import KafkaSettings
from services.common.topics import delete_topics, ensure_topics
from services.modctl.bench.corpus import Comment, Corpus, load_articles, load_texts
from services.modctl.bench.load import Poster
from services.modctl.bench.observe import Observer
from services.modctl.bench.procstats import own_usage, usage
from services.modctl.processes import ServiceProcess
from services.modctl.testbed.clusters import ScriptCluster
from services.modctl.testbed.processes import System, running_system

Say = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    data: Path
    out_dir: Path
    comments: int = 1500  # per measured stream
    warm_up: int = 64
    batch: int = 50
    senders: int = 4
    settle_seconds: float = 300.0
    idle_seconds: float = 15.0  # how long the idle CPU of brokers and Redis is measured


@dataclass
class Sample:
    """Counters read at one moment; a phase's cost is the difference of two."""

    cpu_seconds: dict[str, float]
    kafka_bytes: dict[str, int]
    redis: dict[str, float]


@dataclass
class Phase:
    name: str
    workers: int
    comments: int
    seconds: float
    verdict_cps: float
    per_comment: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        costs = ", ".join(f"{k} {v:g}" for k, v in self.per_comment.items())
        return (
            f"{self.name}: {self.workers} worker(s), {self.comments} comments in "
            f"{self.seconds:.1f}s, {self.verdict_cps:.1f} verdicts/s; per comment: {costs}"
        )


async def kafka_bytes(kafka: KafkaSettings) -> dict[str, int]:
    """Key and value bytes of every record so far, per topic (the run's namespace only)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        totals: dict[str, int] = {}
        for topic, layout in TOPIC_LAYOUT.items():  # the bench created them so
            name = kafka.topic(topic)
            parts = [TopicPartition(name, p) for p in range(layout.partitions)]
            ends = await consumer.end_offsets(parts)
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            total = 0
            for part in parts:
                while await consumer.position(part) < ends[part]:
                    batch = await consumer.getmany(part, timeout_ms=1000)
                    for record in batch.get(part, []):
                        total += len(record.key or b"") + len(record.value or b"")
            totals[str(topic)] = total
        return totals
    finally:
        await consumer.stop()


async def redis_counters(ports: list[int]) -> dict[str, float]:
    """Commands processed by the masters, CPU seconds and memory of every node."""
    found = {"commands": 0.0, "cpu_seconds": 0.0, "memory_bytes": 0.0}
    for port in ports:
        async with Redis(host="127.0.0.1", port=port) as node:
            info = await node.info()
            if info.get("role") == "master":
                found["commands"] += float(info["total_commands_processed"])
                found["memory_bytes"] += float(info["used_memory"])
            found["cpu_seconds"] += float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    return found


async def memory_by_prefix(ports: list[int]) -> dict[str, int]:
    """Bytes held by each kind of key (the part of its name before the first `:`), on the
    masters: what a comment leaves behind, apart from the server's own overhead."""
    found: dict[str, int] = {}
    for port in ports:
        async with Redis(host="127.0.0.1", port=port) as node:
            if (await node.info("replication")).get("role") != "master":
                continue
            keys = [k async for k in node.scan_iter(count=1000)]
            async with node.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.memory_usage(key)
                sizes = await pipe.execute()
            for key, size in zip(keys, sizes, strict=True):
                prefix = key.decode().split(":", 1)[0]
                found[prefix] = found.get(prefix, 0) + int(size or 0)
    return found


class ScaleRun:
    def __init__(
        self,
        system: System,
        kafka: KafkaSettings,
        beds: dict[str, ScriptCluster],
        corpus: Corpus,
        options: Options,
        say: Say,
    ) -> None:
        self.system, self.kafka, self.beds = system, kafka, beds
        self.corpus, self.options, self.say = corpus, options, say
        self.tenant = f"scale-{uuid.uuid4().hex[:8]}"
        self.workers = [system.moderation]
        self.idle = {"kafka": 0.0, "redis": 0.0}
        self.redis_ports = [int(p.rsplit(":", 1)[1]) for p in beds["redis"].run("nodes").split(",")]

    async def sample(self) -> Sample:
        services = {"ingest": self.system.ingest, "publisher": self.system.publisher}
        cpu = {n: usage(s.process.pid).cpu_seconds for n, s in services.items() if s.process}
        cpu["workers"] = sum(usage(w.process.pid).cpu_seconds for w in self.workers if w.process)
        cpu["kafka"] = sum(own_usage(pid).cpu_seconds for pid in self.beds["kafka"].pids())
        return Sample(cpu, await kafka_bytes(self.kafka), await redis_counters(self.redis_ports))

    async def measure_idle(self) -> None:
        """CPU seconds per second that the brokers and Redis nodes burn with no traffic
        (heartbeats, replication pings, cluster gossip), so a comment's share excludes it."""
        before = await self.sample()
        await asyncio.sleep(self.options.idle_seconds)  # a fixed window: this is the measure
        after = await self.sample()
        self.idle = {
            "kafka": (after.cpu_seconds["kafka"] - before.cpu_seconds["kafka"])
            / self.options.idle_seconds,
            "redis": (after.redis["cpu_seconds"] - before.redis["cpu_seconds"])
            / self.options.idle_seconds,
        }
        self.say(
            f"idle: Kafka brokers {self.idle['kafka']:.3f} cores, Redis {self.idle['redis']:.3f}"
        )

    async def stream(self, client: httpx.AsyncClient, name: str, comments: list[Comment]) -> Phase:
        poster = Poster(client, self.system.headers(self.tenant))
        before, started = await self.sample(), time.monotonic()
        await poster.full_speed(comments, self.options.batch, self.options.senders)
        ids = [c.comment_id for c in comments]
        await self.observer.settled(ids, self.options.settle_seconds)
        seconds = time.monotonic() - started
        after, n = await self.sample(), len(comments)
        per_comment = {
            f"{k}_cpu_ms": round((after.cpu_seconds[k] - before.cpu_seconds[k]) * 1000 / n, 2)
            for k in before.cpu_seconds
        }
        per_comment["redis_cpu_ms"] = round(
            (after.redis["cpu_seconds"] - before.redis["cpu_seconds"]) * 1000 / n, 2
        )
        redis_used = after.redis["cpu_seconds"] - before.redis["cpu_seconds"]
        above_idle = max(redis_used - self.idle["redis"] * seconds, 0.0)
        per_comment["redis_cpu_ms_above_idle"] = round(above_idle * 1000 / n, 2)
        per_comment["redis_commands"] = round(
            (after.redis["commands"] - before.redis["commands"]) / n, 1
        )
        per_comment["redis_memory_bytes"] = round(
            (after.redis["memory_bytes"] - before.redis["memory_bytes"]) / n
        )
        for topic, total in after.kafka_bytes.items():
            grown = total - before.kafka_bytes.get(topic, 0)
            if grown:
                per_comment[f"kafka_bytes_{topic}"] = round(grown / n)
        phase = Phase(name, len(self.workers), n, round(seconds, 1), round(n / seconds, 1))
        phase.per_comment = per_comment
        self.say(phase.line())
        return phase

    async def measure(self) -> dict[str, Phase]:
        self.observer = Observer(self.kafka)
        await self.observer.start()
        o, c = self.options, self.corpus
        try:
            async with httpx.AsyncClient(base_url=self.system.ingest.url, timeout=60) as client:
                await Poster(client, self.system.headers(self.tenant)).articles(c.articles)
                await self.stream(client, "warm-up", c.stream("warm1", o.warm_up))
                await self.measure_idle()
                one = await self.stream(client, "one-worker", c.stream("one", o.comments))
                await asyncio.to_thread(self._more_workers, 2)
                await self.stream(client, "warm-up-3", c.stream("warm3", o.warm_up))
                three = await self.stream(client, "three-workers", c.stream("three", o.comments))
            self.memory = await memory_by_prefix(self.redis_ports)
            self.comments = 2 * o.warm_up + 2 * o.comments
        finally:
            await self.observer.stop()
        return {"one": one, "three": three}

    def _more_workers(self, count: int) -> None:
        first = self.system.moderation
        for _ in range(count):
            worker = ServiceProcess("moderation", first.env, log_dir=first.log_dir)
            self.workers.append(worker)
            worker.start()
        for worker in self.workers[1:]:
            worker.wait_ready()


def run_scale_bench(options: Options, say: Say) -> dict[str, Any]:
    root = options.out_dir / time.strftime("scale-%Y%m%dT%H%M%S")
    beds = {
        "kafka": ScriptCluster.create("kafka/cluster", root / "kafka"),
        "redis": ScriptCluster.create("redis/cluster", root / "redis"),
    }
    corpus = Corpus(
        load_texts(options.data, 2 * options.comments + 2 * options.warm_up + 50), load_articles()
    )
    say("starting the three-broker Kafka and the Redis Cluster ...")
    for bed in beds.values():
        bed.run("start")
    kafka = KafkaSettings(
        bootstrap_servers=beds["kafka"].run("bootstrap"), namespace=f"scale-{uuid.uuid4().hex[:8]}."
    )
    try:
        asyncio.run(ensure_topics(kafka, replication_factor=3))
        env = {"MODERATION_POLICY__RELEVANCE_FLOOR": "-1"}  # texts not written for the articles
        with running_system(kafka, beds["redis"].redis_settings(), root / "logs", env) as system:
            run = ScaleRun(system, kafka, beds, corpus, options, say)
            try:
                phases = asyncio.run(run.measure())
                memory = {k: round(v / run.comments) for k, v in sorted(run.memory.items())}
            finally:
                for worker in run.workers[1:]:
                    worker.stop()
        asyncio.run(delete_topics(kafka))
    finally:
        for bed in beds.values():
            bed.run("reset", check=False)
    one, three = phases["one"], phases["three"]
    return {
        "one_worker_cps": one.verdict_cps,
        "three_worker_cps": three.verdict_cps,
        "three_vs_one": round(three.verdict_cps / one.verdict_cps, 2),
        "per_comment": one.per_comment,
        "per_comment_three_workers": three.per_comment,
        "idle_cores": run.idle,
        "redis_bytes_per_comment_by_key": memory,
        "lines": [one.line(), three.line()],
    }
