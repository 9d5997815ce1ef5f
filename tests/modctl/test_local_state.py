"""`make run` says what it reuses, and `modctl down --wipe` gives a clean start: against a real
Redis started by deploy/redis/redis.sh on a port and data directory of the test's own."""

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.modctl.local_state import (
    WIPE_COMMAND,
    LocalServer,
    describe_reuse,
    local_servers,
    wipe,
)
from services.modctl.processes import free_port


def test_a_listener_not_started_here_is_named_and_left_alone(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        line = describe_reuse(LocalServer("redis", port, tmp_path / "redis"))
    assert f"pid {os.getpid()}" in line
    assert "not started from this checkout" in line
    assert WIPE_COMMAND not in line


@pytest.fixture
def own_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    port = free_port()
    monkeypatch.setenv("REDIS_PORT", str(port))
    monkeypatch.setenv("REDIS_DATA_DIR", str(tmp_path / "redis"))
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}")
    server = next(s for s in local_servers() if s.name == "redis")
    server.run_script("start")
    try:
        yield server
    finally:
        server.run_script("stop")


def test_an_earlier_runs_server_is_named_with_its_data_and_wiped_on_request(
    own_redis: LocalServer,
) -> None:
    client = redis.Redis(port=own_redis.port)
    client.set("tenant:left-over", "from an earlier run")
    client.save()

    line = describe_reuse(own_redis)
    assert f"pid {own_redis.our_pid()}" in line
    assert str(own_redis.data_dir) in line
    assert WIPE_COMMAND in line
    with pytest.raises(RuntimeError, match="still runs"):
        wipe(own_redis)

    own_redis.run_script("stop")
    assert own_redis.has_data()  # what the next start says it starts with
    assert wipe(own_redis)
    assert not own_redis.data_dir.exists()
    assert not own_redis.has_data()
    own_redis.run_script("start")
    assert client.get("tenant:left-over") is None
    assert not wipe(LocalServer("redis", own_redis.port, own_redis.data_dir / "never"))
