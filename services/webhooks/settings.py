"""Webhook service settings (WEBHOOKS_*)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


def default_schedule(first: float = 30.0, cap: float = 900.0, total: float = 3600.0) -> list[float]:
    """Delays between attempts: doubling from `first`, capped, until they add up to `total`.

    The default (30 s, 1, 2, 4, 8 min, then every 15 min) keeps retrying for just over an hour.
    """
    delays: list[float] = []
    delay = first
    while sum(delays) < total:
        delays.append(min(delay, cap))
        delay *= 2
    return delays


class WebhookSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOKS_")
    port: int = 8004
    # Seconds to wait before each retry; after the last one fails the delivery is dead-lettered.
    retry_schedule_seconds: list[float] = Field(default_factory=default_schedule, min_length=1)
    # Each delay is stretched by a random 0..jitter fraction, so receivers that came back are
    # not hit by every delivery at once; it never shortens the schedule.
    retry_jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    timeout_seconds: float = Field(default=10.0, gt=0)  # one POST, connect to last byte
    concurrency: int = Field(default=16, ge=1, le=256)  # deliveries in flight per process
    poll_interval_seconds: float = Field(default=0.5, gt=0)  # how often the schedule is read
    # Endpoints on loopback, private or link-local addresses are refused unless this is set
    # (tests and a receiver on the same machine or network need it).
    allow_private_urls: bool = False
    max_endpoints: int = Field(default=10, ge=1)  # per tenant
    key_requests_per_minute: int = Field(default=600, ge=1)  # per API key, unless its own
    log_retention_days: float = Field(default=7.0, gt=0)  # finished deliveries in the log
    batch_size: int = Field(default=100, ge=1, le=1000)
    batch_timeout_ms: int = Field(default=50, ge=1)
    pending_refresh_seconds: float = Field(default=5.0, gt=0)  # the pending gauge
