"""Writes that survive a Redis failover: wait until a replica holds them before Kafka's offset
commits.

Redis replicates asynchronously, so a master killed right after a write can take the write
with it while its replica becomes master. WAIT blocks until replicas acknowledged the writes of
the connection it is sent on; a write there sets that connection's offset in the master's one
replication stream, which orders every client's writes, so WAIT after a small write covers
every write made before it on any connection. On a cluster, each master that holds a touched
slot is asked on its own. A master that has lost its replicas (promoted away in a failover,
or resyncing) is not waited for: the writes go on, unreplicated, and a warning says so.
"""

import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common import redis_keys
from services.common.redis_client import RedisClient

log = logging.getLogger(__name__)

# What a cluster node's connections carry over to a direct client of that node.
_CONNECTION_OPTIONS = {
    "username",
    "password",
    "socket_timeout",
    "socket_connect_timeout",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "ssl_check_hostname",
}


class ReplicasBehind(RedisTimeoutError):
    """Fewer replicas than asked acknowledged the writes in time: transient, so the batch is
    retried and its offset not committed."""


class ReplicaBarrier:
    def __init__(self, redis: RedisClient, replicas: int, timeout_ms: int) -> None:
        self._redis = redis
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self._nodes: dict[str, Redis] = {}  # one client per cluster master, by name
        self._degraded: set[str] = set()

    async def wait(self, slot_keys: Iterable[str]) -> None:
        """Return once `replicas` replicas hold every write made so far to the hash slots of
        these keys (on a single server: every write made so far)."""
        if self.replicas <= 0:
            return
        keys = {redis_keys.replication_barrier(k) for k in slot_keys}
        if not isinstance(self._redis, RedisCluster):
            if keys:
                await self._wait_on(self._redis, next(iter(keys)))
            return
        try:
            await self._wait_on_masters(self._redis, keys)
        except (RedisConnectionError, ResponseError):
            # The client's map of the slots is older than a failover (the master it names is
            # gone, or now a replica that refuses WAIT): read the map again, then ask again.
            await self._redis.nodes_manager.initialize()
            await self._wait_on_masters(self._redis, keys)

    async def _wait_on_masters(self, cluster: RedisCluster, keys: set[str]) -> None:
        by_node: dict[str, str] = {}
        for key in keys:
            node = cluster.get_node_from_key(key)
            if node is None:  # the slot has no master now: a failover under way
                raise ReplicasBehind(f"no Redis master serves {key} now")
            by_node.setdefault(node.name, key)
        for name, key in by_node.items():
            await self._wait_on(self._node_client(name), key)

    async def _wait_on(self, client: Redis, key: str) -> None:
        # Wait for as many replicas as the master has now, up to `replicas`: a master whose
        # replica was promoted away or is resyncing still takes writes (as Kafka's leader does
        # with one in-sync replica left), and the moment is logged.
        info = await client.info("replication")
        wanted = min(self.replicas, int(info.get("connected_slaves", 0)))
        self._report_degraded(client, wanted)
        if wanted == 0:
            return
        # One pipeline is one connection: the SET gives it a place in the replication stream.
        async with client.pipeline(transaction=False) as pipe:
            pipe.set(key, "1", px=60_000)
            pipe.execute_command("WAIT", wanted, self.timeout_ms)
            _, acknowledged = await pipe.execute()
        if int(acknowledged) < wanted:
            raise ReplicasBehind(
                f"{acknowledged} of {wanted} Redis replicas acknowledged within "
                f"{self.timeout_ms} ms"
            )

    def _report_degraded(self, client: Redis, replicas: int) -> None:
        where = repr(client.connection_pool)
        degraded = replicas < self.replicas
        if degraded != (where in self._degraded):
            if degraded:
                self._degraded.add(where)
                log.warning(
                    "Redis master without its replicas: writes are not replicated",
                    extra={"master": where, "replicas": replicas, "wanted": self.replicas},
                )
            else:
                self._degraded.discard(where)
                log.info("Redis master has its replicas again", extra={"master": where})

    def _node_client(self, name: str) -> Redis:
        if name not in self._nodes:
            assert isinstance(self._redis, RedisCluster)
            node = self._redis.get_node(node_name=name)
            assert node is not None
            kwargs = {k: v for k, v in node.connection_kwargs.items() if k in _CONNECTION_OPTIONS}
            if "ssl" in node.connection_kwargs.get("connection_class", type).__name__.lower():
                kwargs["ssl"] = True
            self._nodes[name] = Redis(host=node.host, port=int(node.port), **kwargs)
        return self._nodes[name]

    async def close(self) -> None:
        for client in self._nodes.values():
            await client.aclose()
        self._nodes.clear()
