"""Redis credentials and TLS come from settings and reach the client every service builds."""

import uuid
from pathlib import Path

import certifi
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.exceptions import AuthenticationError

from services.common.settings import RedisSettings


def standalone(settings: RedisSettings) -> Redis:
    client = settings.client()
    assert isinstance(client, Redis)
    return client


def test_plain_url_has_no_credentials_or_tls() -> None:
    client = standalone(RedisSettings(url="redis://127.0.0.1:6379/0"))
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs.get("username") is None
    assert kwargs.get("password") is None
    assert client.connection_pool.connection_class is not SSLConnection


def test_acl_user_from_settings_wins_over_the_url_and_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://old:stale@10.0.0.5:6380/2")
    monkeypatch.setenv("REDIS_USERNAME", "publisher")
    monkeypatch.setenv("REDIS_PASSWORD", "s3cret-pw")
    settings = RedisSettings()
    assert "s3cret-pw" not in repr(settings)
    kwargs = standalone(settings).connection_pool.connection_kwargs
    assert kwargs["username"] == "publisher"
    assert kwargs["password"] == "s3cret-pw"
    assert kwargs["host"] == "10.0.0.5"
    assert kwargs["db"] == 2


def test_rediss_url_verifies_the_server_with_the_given_ca(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("not read until connecting")
    settings = RedisSettings(
        url="rediss://redis.internal:6380/0",
        ssl_cafile=Path(certifi.where()),
        ssl_certfile=cert,
    )
    pool = standalone(settings).connection_pool
    assert pool.connection_class is SSLConnection
    kwargs = pool.connection_kwargs
    assert kwargs["ssl_cert_reqs"] == "required"
    assert kwargs["ssl_check_hostname"] is True
    assert kwargs["ssl_ca_certs"] == certifi.where()
    assert kwargs["ssl_certfile"] == str(cert)
    assert kwargs["ssl_keyfile"] == str(cert)


async def test_an_acl_user_signs_in_and_a_wrong_password_is_refused(
    redis: Redis, redis_url: str
) -> None:
    user = f"svc-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    await redis.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"]
    )
    try:
        async with RedisSettings(url=redis_url, username=user, password=password).client() as ok:
            assert await ok.acl_whoami() in (user, user.encode())
        wrong = RedisSettings(url=redis_url, username=user, password="wrong").client()
        with pytest.raises(AuthenticationError):
            await wrong.ping()
        await wrong.aclose()
    finally:
        await redis.acl_deluser(user)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_MODE": "sentinel"}, "REDIS_SENTINELS"),
        ({"REDIS_MODE": "cluster"}, "REDIS_CLUSTER_NODES"),
        ({"REDIS_MODE": "cluster", "REDIS_CLUSTER_NODES": "10.0.0.1"}, "REDIS_CLUSTER_NODES"),
        ({"REDIS_MODE": "sentinel", "REDIS_SENTINELS": "a:1,b:x"}, "REDIS_SENTINELS"),
    ],
)
def test_a_topology_without_its_addresses_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=named):
        RedisSettings()


def test_cluster_and_sentinel_clients_take_the_urls_credentials() -> None:
    cluster = RedisSettings(
        mode="cluster", url="redis://ops:pw@ignored/0", cluster_nodes="10.0.0.1:7000,[::1]:7001"
    ).client()
    assert isinstance(cluster, RedisCluster)
    startup = cluster.nodes_manager.startup_nodes.values()
    assert [(n.host, n.port) for n in startup] == [("10.0.0.1", 7000), ("::1", 7001)]
    assert cluster.nodes_manager.connection_kwargs["password"] == "pw"
    sentinel = RedisSettings(
        mode="sentinel", url="redis://ops:pw@ignored/3", sentinels="10.0.0.2:26379"
    ).client()
    assert isinstance(sentinel, Redis)
    kwargs = sentinel.connection_pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("ops", "pw", 3)


def test_a_rediss_url_turns_tls_on_for_cluster_and_sentinel_clients() -> None:
    cluster = RedisSettings(
        mode="cluster", url="rediss://ignored/0", cluster_nodes="10.0.0.1:7000"
    ).client()
    assert isinstance(cluster, RedisCluster)
    assert "SSL" in cluster.nodes_manager.connection_kwargs["connection_class"].__name__
    sentinel = RedisSettings(
        mode="sentinel", url="rediss://ignored/0", sentinels="10.0.0.2:26379"
    ).client()
    assert isinstance(sentinel, Redis)
    assert "SSL" in sentinel.connection_pool.connection_class.__name__
    plain = RedisSettings(
        mode="sentinel", url="redis://ignored/0", sentinels="10.0.0.2:26379"
    ).client()
    assert isinstance(plain, Redis)
    assert "SSL" not in plain.connection_pool.connection_class.__name__
