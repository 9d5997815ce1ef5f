"""Settings shared by every service: where Kafka and Redis are, and how to log in to Kafka."""

import ssl
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.contract import ConsumerGroup, Topic
from services.common.redis_client import RedisClient

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


class KafkaSettings(BaseSettings):
    """KAFKA_BOOTSTRAP_SERVERS points every service at an existing cluster."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")
    bootstrap_servers: str = "127.0.0.1:9092"
    # Prefixes every topic and consumer group, so several environments can share one cluster.
    namespace: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)
    # How often each consuming service measures its own consumer lag.
    lag_interval_seconds: float = Field(default=5.0, gt=0)
    # An outage is logged once as it begins and once as it ends: when the client has gone this
    # long without a connection error (services.common.kafka_outage).
    outage_quiet_seconds: float = Field(default=10.0, gt=0)
    # An existing cluster's security: SSL and/or SASL (PLAIN or SCRAM), as Kafka names them.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: Path | None = None  # the system's CAs when unset
    ssl_certfile: Path | None = None  # client certificate for mutual TLS
    ssl_keyfile: Path | None = None

    def servers(self) -> list[str]:
        """`host:port` of each bootstrap server, from the comma-separated setting."""
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    def topic(self, topic: Topic) -> str:
        return f"{self.namespace}{topic}"

    def group(self, group: ConsumerGroup) -> str:
        return f"{self.namespace}{group}"

    def security(self) -> BaseSecurity | None:
        """For FastStream's KafkaBroker; None for a plain connection."""
        context = self._ssl_context() if self.security_protocol.endswith("SSL") else None
        if self.security_protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        if self.security_protocol.startswith("SASL"):
            sasl = _SASL[self.sasl_mechanism]
            password = self.sasl_password.get_secret_value()
            return sasl(self.sasl_username, password, ssl_context=context, use_ssl=bool(context))
        return None

    def client_options(self) -> dict[str, Any]:
        """The same security as aiokafka keyword arguments, for the admin and offset clients."""
        return parse_security(self.security())

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.ssl_certfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context


class RedisSettings(BaseSettings):
    """Where Redis is. REDIS_MODE picks the topology:

    - `standalone` (default): one server at REDIS_URL; `rediss://` turns TLS on.
    - `sentinel`: the master that the Sentinels at REDIS_SENTINELS name REDIS_SENTINEL_MASTER;
      REDIS_URL still gives the database number, TLS and credentials.
    - `cluster`: a Redis Cluster found from REDIS_CLUSTER_NODES (any of its nodes will do);
      REDIS_URL gives TLS and credentials.

    An ACL user and its password may sit in the URL or, kept out of it, in REDIS_USERNAME and
    REDIS_PASSWORD (these win over the URL's)."""

    model_config = SettingsConfigDict(env_prefix="REDIS_", extra="ignore")
    mode: Literal["standalone", "sentinel", "cluster"] = "standalone"
    url: str = "redis://127.0.0.1:6379/0"
    sentinels: str = ""  # host:port,host:port,...
    sentinel_master: str = "moderation"
    sentinel_password: SecretStr = SecretStr("")  # when the Sentinels require one of their own
    cluster_nodes: str = ""  # host:port,host:port,...
    # Replicas that must hold the publisher's writes before it commits its Kafka offsets, so
    # a master lost in a failover loses none of them; unset: 0 standalone, 1 otherwise. A
    # replica down for longer than the timeout stalls the publisher (its lag alerts), as
    # Kafka's min.insync.replicas stalls producers.
    wait_replicas: int | None = Field(default=None, ge=0)
    wait_timeout_ms: int = Field(default=2000, gt=0)
    socket_timeout_seconds: float = 5.0
    username: str = ""
    password: SecretStr = SecretStr("")
    ssl_cafile: Path | None = None  # the system's CAs when unset
    ssl_certfile: Path | None = None  # client certificate for mutual TLS
    ssl_keyfile: Path | None = None

    @model_validator(mode="after")
    def _addresses_for_mode(self) -> "RedisSettings":
        if self.mode == "sentinel" and not self.sentinel_addresses():
            raise ValueError("REDIS_SENTINELS: give host:port of each Sentinel for mode sentinel")
        if self.mode == "cluster" and not self.cluster_addresses():
            raise ValueError("REDIS_CLUSTER_NODES: give host:port of a node for mode cluster")
        return self

    def replicas_to_wait_for(self) -> int:
        if self.wait_replicas is not None:
            return self.wait_replicas
        return 0 if self.mode == "standalone" else 1

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return _addresses(self.sentinels, "REDIS_SENTINELS")

    def cluster_addresses(self) -> list[tuple[str, int]]:
        return _addresses(self.cluster_nodes, "REDIS_CLUSTER_NODES")

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `Redis.from_url(self.url, ...)`: credentials and TLS."""
        options: dict[str, Any] = {}
        if self.username:
            options["username"] = self.username
        if self.password.get_secret_value():
            options["password"] = self.password.get_secret_value()
        if self.url.startswith("rediss://"):
            options["ssl_cert_reqs"] = "required"
            options["ssl_check_hostname"] = True
            if self.ssl_cafile:
                options["ssl_ca_certs"] = str(self.ssl_cafile)
            if self.ssl_certfile:
                options["ssl_certfile"] = str(self.ssl_certfile)
                options["ssl_keyfile"] = str(self.ssl_keyfile or self.ssl_certfile)
        return options

    def _url_for_client(self) -> str:
        """The URL without its credentials when settings carry them (redis-py lets the URL win)."""
        if not (self.username or self.password.get_secret_value()):
            return self.url
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=host))

    def client(self) -> RedisClient:
        """A client that reconnects by itself: stale connections after a Redis restart are
        checked and replaced, a failed command is retried a few times with backoff, and a
        Sentinel or cluster failover is followed to the new master."""
        options: dict[str, Any] = {
            "socket_timeout": self.socket_timeout_seconds,
            "socket_connect_timeout": self.socket_timeout_seconds,
            "health_check_interval": 5,
            "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError],
            **self.client_options(),
        }
        if self.mode != "standalone":
            # Only a URL client reads credentials and TLS from the URL; the others take options.
            parts = urlsplit(self.url)
            options.setdefault("username", parts.username)
            options.setdefault("password", parts.password)
            if parts.scheme == "rediss":
                options["ssl"] = True
        if self.mode == "cluster":
            nodes = [ClusterNode(host, port) for host, port in self.cluster_addresses()]
            # Failover takes a few seconds (cluster-node-timeout and the replica's election):
            # retry for that long, then fail loudly.
            options["retry"] = Retry(ExponentialBackoff(cap=1.0, base=0.1), retries=12)
            return RedisCluster(startup_nodes=nodes, **options)
        if self.mode == "sentinel":
            sentinel_options: dict[str, Any] = {"socket_timeout": self.socket_timeout_seconds}
            if self.sentinel_password.get_secret_value():
                sentinel_options["password"] = self.sentinel_password.get_secret_value()
            sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                self.sentinel_addresses(), sentinel_kwargs=sentinel_options
            )
            # Few retries of one connection: they reconnect to the address it had, so the new
            # master is found when the next command asks the Sentinels again.
            master: SentinelMaster = sentinel.master_for(
                self.sentinel_master, redis_class=SentinelMaster, db=self._db(), **options
            )
            master.manager = sentinel
            return master
        return Redis.from_url(self._url_for_client(), **options)

    def _db(self) -> int:
        path = urlsplit(self.url).path.strip("/")
        return int(path) if path.isdigit() else 0


class SentinelMaster(Redis):
    """The master the Sentinels name, closing the client's connections to them with its own."""

    manager: Sentinel

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in self.manager.sentinels:
            await client.aclose()


def _addresses(value: str, name: str) -> list[tuple[str, int]]:
    """`host:port` pairs of a comma-separated setting."""
    found = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{name}: {item!r} is not host:port")
        found.append((host.strip("[]"), int(port)))
    return found


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    host: str = "127.0.0.1"
    log_level: str = "INFO"
