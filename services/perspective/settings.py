"""Perspective-compatible API settings (PERSPECTIVE_*; the engine is MODERATION_ENGINE)."""

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings

# The limit perspective-api-client (npm) enforces; Perspective itself allowed 3,000 bytes.
MAX_TEXT_BYTES = 20_480


class PerspectiveSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PERSPECTIVE_", populate_by_name=True)
    port: int = 8003
    # The same engine the moderation worker runs, so both give a text the same scores.
    engine: str = Field(
        default="embedded", validation_alias=AliasChoices("MODERATION_ENGINE", "engine")
    )
    # The engines shipped today are English models; a multilingual Detoxify would add more.
    languages: list[str] = Field(default_factory=lambda: ["en"])
    max_text_bytes: int = Field(default=MAX_TEXT_BYTES, ge=1)
    # Requests per key and minute, unless the key was created with its own quota.
    quota_per_minute: int = Field(default=600, ge=1)
    # Concurrent requests share one engine call, up to this many texts (sentences included).
    batch_size: int = Field(default=64, ge=1)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    publish_timeout_seconds: float = Field(default=5.0, gt=0)
    # Coral Talk's external moderation phase: the signing secrets it shows (several while it
    # rotates them; none: the endpoint is off), and the tenant its comments belong to (unset:
    # Coral's own tenantID).
    coral_secrets: list[SecretStr] = Field(default_factory=list)
    coral_tenant: str | None = None
