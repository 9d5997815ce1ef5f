"""Latency of the Perspective-compatible API at a steady request rate, and of the scorer alone
at the same rate, in one run: the difference is what HTTP, keys and batching cost."""

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from statistics import quantiles

import httpx

from services.common.settings import RedisSettings
from services.common.tenants import Scope, TenantStore
from services.modctl.processes import DATA, ServiceProcess, started
from services.moderation.engines import load_engine

TEXTS = (
    "Thanks for the clear write-up, the budget numbers finally make sense.",
    "You are a complete idiot and so is everyone who agrees with you.",
    "I disagree: the library cuts will hurt families. Did anyone ask them?",
    "Check out my channel for free bitcoin",
)

READY_SECONDS = 180.0  # the engine loads at start-up


@dataclass(frozen=True)
class Latencies:
    name: str
    seconds: list[float]

    def line(self) -> str:
        cuts = quantiles(self.seconds, n=100, method="inclusive")
        p50, p95, p99 = (cuts[i] * 1000 for i in (49, 94, 98))
        return (
            f"{self.name:16} {len(self.seconds)} calls: p50 {p50:.1f} ms  p95 {p95:.1f} ms"
            f"  p99 {p99:.1f} ms  max {max(self.seconds) * 1000:.1f} ms"
        )

    @property
    def p99(self) -> float:
        return quantiles(self.seconds, n=100, method="inclusive")[98]


async def steady(
    rate: float, seconds: float, call: Callable[[int], Awaitable[None]]
) -> list[float]:
    """Start call i at i/rate seconds whether or not earlier ones finished (an open loop)."""
    started = time.perf_counter()
    latencies: list[float] = []

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        begin = time.perf_counter()
        await call(i)
        latencies.append(time.perf_counter() - begin)

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    return latencies


async def measure_api(url: str, rate: float, seconds: float) -> Latencies:
    async with RedisSettings().client() as redis:
        store = TenantStore(redis)
        await store.create_tenant("bench", exist_ok=True)
        key, _ = await store.create_key(
            "bench", frozenset({Scope.ANALYZE}), requests_per_minute=1_000_000
        )
    async with httpx.AsyncClient(base_url=url, params={"key": key}, timeout=10.0) as http:

        async def call(i: int) -> None:
            body = {
                "comment": {"text": TEXTS[i % len(TEXTS)]},
                "requestedAttributes": {"TOXICITY": {}},
            }
            response = await http.post("/v1alpha1/comments:analyze", json=body)
            response.raise_for_status()

        await steady(rate, 1.0, call)  # warm the connection and the engine
        return Latencies("perspective API", await steady(rate, seconds, call))


async def measure_scorer(rate: float, seconds: float) -> Latencies:
    engine = load_engine(os.environ.get("MODERATION_ENGINE", "embedded"))

    async def call(i: int) -> None:
        await asyncio.to_thread(engine.score_batch, [TEXTS[i % len(TEXTS)]])

    await steady(rate, 1.0, call)
    return Latencies("scorer alone", await steady(rate, seconds, call))


async def measure(rate: float, seconds: float) -> list[Latencies]:
    """The service as its own process (as deployed), then the engine in this process."""
    perspective = ServiceProcess("perspective", log_dir=DATA / "logs")
    with started(perspective, READY_SECONDS) as service:  # no other work waits on the loop yet
        api = await measure_api(service.url, rate, seconds)
    return [api, await measure_scorer(rate, seconds)]
