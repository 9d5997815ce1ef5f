"""Publisher settings (PUBLISHER_*)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class PublisherSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PUBLISHER_")
    port: int = 8002
    batch_size: int = Field(default=100, ge=1, le=1000)
    batch_timeout_ms: int = Field(default=20, ge=1)
    default_tenant: str = "demo"
    page_size: int = Field(default=50, ge=1, le=500)
    review_refresh_seconds: float = Field(default=15.0, gt=0)  # review queue gauges
