"""Sends due deliveries: claims them from the schedule, POSTs, records each attempt."""

import asyncio
import logging
from contextlib import suppress

import httpx

from services.webhooks import metrics, sender, targets
from services.webhooks.config import ConfigStore
from services.webhooks.deliveries import Delivery, DeliveryStore, Outcome

log = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 30.0


class Dispatcher:
    def __init__(
        self,
        store: DeliveryStore,
        configs: ConfigStore,
        *,
        timeout_seconds: float,
        concurrency: int,
        poll_interval_seconds: float,
        allow_private_urls: bool = False,
    ) -> None:
        self.store = store
        self.configs = configs
        self.timeout = timeout_seconds
        self.concurrency = concurrency
        self.poll = poll_interval_seconds
        self.allow_private = allow_private_urls
        self.inflight: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; attempts in flight then finish (each is bounded by the timeout)."""
        timeout = httpx.Timeout(self.timeout)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            while not stop.is_set():
                claimed = await self._claim()
                for tenant, delivery_id in claimed:
                    task = asyncio.create_task(self.attempt(client, tenant, delivery_id))
                    self.inflight.add(task)
                    task.add_done_callback(self.inflight.discard)
                if not claimed or len(self.inflight) >= self.concurrency:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll)
            if self.inflight:
                await asyncio.gather(*self.inflight, return_exceptions=True)

    async def _claim(self) -> list[tuple[str, str]]:
        free = self.concurrency - len(self.inflight)
        if free <= 0:
            return []
        try:
            # A delivery whose attempt outlives the lease (a dead process) is claimed again.
            return await self.store.claim(free, self.timeout + LEASE_MARGIN_SECONDS)
        except Exception as error:  # Redis away: nothing is lost, the schedule is still there
            log.warning("could not read the delivery schedule", extra={"error": repr(error)})
            return []

    async def attempt(self, client: httpx.AsyncClient, tenant: str, delivery_id: str) -> None:
        try:
            delivery = await self.store.get(tenant, delivery_id)
            if delivery is None:
                await self.store.drop(tenant, delivery_id)
                return
            await self._send(client, delivery)
        except Exception as error:  # the lease brings it back; log and go on with the others
            log.warning(
                "webhook attempt not recorded",
                extra={"tenant": tenant, "delivery": delivery_id, "error": repr(error)},
            )

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        config = await self.configs.get(delivery.tenant_id)
        endpoint = next((e for e in config.endpoints if str(e.url) == delivery.url), None)
        refusal = None
        if endpoint is None:  # removed since: the log says why it stopped
            refusal = "endpoint no longer configured"
        elif not self.allow_private and (reason := await targets.resolved_refusal(delivery.url)):
            refusal = f"refused: {reason} (WEBHOOKS_ALLOW_PRIVATE_URLS)"
        if refusal is not None or endpoint is None:
            result = sender.Response(None, 0.0, refusal)
            attempt = await self.store.record(delivery, None, 0.0, refusal, final=True)
        else:
            result = await sender.post(client, delivery, endpoint.secrets)
            metrics.LATENCY.observe(result.latency_ms / 1000)
            attempt = await self.store.record(
                delivery, result.status_code, result.latency_ms, result.error
            )
        metrics.ATTEMPTS.labels(outcome=attempt.outcome).inc()
        level = logging.INFO if attempt.outcome is Outcome.SUCCEEDED else logging.WARNING
        log.log(
            level,
            "webhook attempt",
            extra={
                "tenant": delivery.tenant_id,
                "delivery": delivery.id,
                "event_id": delivery.event_id,
                "attempt": attempt.number,
                "status_code": result.status_code,
                "error": result.error,
                "outcome": attempt.outcome,
            },
        )
