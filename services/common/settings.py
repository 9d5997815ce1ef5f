"""Settings shared by every service: where Kafka and Redis are."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.contract import ConsumerGroup, Topic


class KafkaSettings(BaseSettings):
    """KAFKA_BOOTSTRAP_SERVERS points every service at an existing cluster."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")
    bootstrap_servers: str = "127.0.0.1:9092"
    # Prefixes every topic and consumer group, so several environments can share one cluster.
    namespace: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)

    def topic(self, topic: Topic) -> str:
        return f"{self.namespace}{topic}"

    def group(self, group: ConsumerGroup) -> str:
        return f"{self.namespace}{group}"


class RedisSettings(BaseSettings):
    """REDIS_URL points every service at an existing Redis."""

    model_config = SettingsConfigDict(env_prefix="REDIS_", extra="ignore")
    url: str = "redis://127.0.0.1:6379/0"
    socket_timeout_seconds: float = 5.0

    def client(self) -> "Redis":
        """A client that reconnects by itself: stale connections after a Redis restart are
        checked and replaced, and a failed command is retried a few times with backoff."""
        return Redis.from_url(
            self.url,
            socket_timeout=self.socket_timeout_seconds,
            socket_connect_timeout=self.socket_timeout_seconds,
            health_check_interval=5,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    host: str = "127.0.0.1"
    log_level: str = "INFO"
