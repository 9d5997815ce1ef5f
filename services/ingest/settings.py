"""Ingest settings (INGEST_*)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_")
    port: int = 8000
    max_body_chars: int = Field(default=10_000, ge=1)
    max_batch: int = Field(default=500, ge=1)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # How long a request waits for Kafka's acknowledgement before answering 503.
    publish_timeout_seconds: float = Field(default=5.0, gt=0)
    # Requests a minute per API key, unless the key has its own rate (`modctl keys create
    # --requests-per-minute`).
    key_requests_per_minute: int = Field(default=6000, ge=1)
