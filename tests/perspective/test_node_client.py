"""The npm `perspective-api-client` (3.1.0, unchanged) against the running service."""

import asyncio
import os
import shutil
import subprocess
from asyncio.subprocess import PIPE, STDOUT
from pathlib import Path

import pytest

from services.common.settings import KafkaSettings
from tests.conftest import unique
from tests.perspective.test_do_not_store import every_value
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def node() -> str:
    """node with the client installed (`npm ci` from the lock file, the first time)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the Perspective client test (apt-get install npm)")
    if not (NODE_DIR / "node_modules" / "perspective-api-client").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return node


async def test_npm_client_analyzes_with_text_attributes_and_do_not_store(
    perspective: ServiceProcess, api_key: str, node: str, kafka_settings: KafkaSettings
) -> None:
    secret = unique("node-private")
    env = {
        **os.environ,
        "PERSPECTIVE_URL": perspective.url,
        "PERSPECTIVE_KEY": api_key,
        "PRIVATE_TEXT": secret,
    }
    process = await asyncio.create_subprocess_exec(
        node, "check.js", cwd=NODE_DIR, env=env, stdout=PIPE, stderr=STDOUT
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert output.decode().startswith("ok:")
    assert not any(secret.encode() in value for value in await every_value(kafka_settings))
