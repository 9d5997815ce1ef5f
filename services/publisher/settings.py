"""Publisher settings (PUBLISHER_*)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class PublisherSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PUBLISHER_")
    port: int = 8002
    batch_size: int = Field(default=100, ge=1, le=1000)
    batch_timeout_ms: int = Field(default=20, ge=1)
    # Requests a minute per API key, unless the key has its own rate.
    key_requests_per_minute: int = Field(default=6000, ge=1)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)  # policies, desk actions
    page_size: int = Field(default=50, ge=1, le=500)
    review_refresh_seconds: float = Field(default=15.0, gt=0)  # review queue gauges
    # The desk: how long a moderator may undo a decision before it is published, how long a
    # sign-in lasts, and whether cookies are Secure (set it behind HTTPS).
    desk_undo_seconds: float = Field(default=5.0, ge=0.0, le=60.0)
    desk_session_hours: float = Field(default=12.0, gt=0.0, le=24 * 30)
    desk_secure_cookies: bool = False  # also Secure whenever the request came over https
    # Sign-in throttling: this many wrong passwords in the window, for one account or from one
    # address, and sign-ins are refused (429) until the window has passed.
    desk_login_max_failures: int = Field(default=5, ge=1)
    desk_login_address_max_failures: int = Field(default=30, ge=1)
    desk_login_window_seconds: int = Field(default=15 * 60, ge=1)
    # The insights page warns when the share of comments held this week moved by more than
    # this many percentage points from last week's.
    insights_drift_points: float = Field(default=10.0, gt=0.0, le=100.0)
