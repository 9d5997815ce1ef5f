"""A moderator over the real embedded engine and Redis, with the engine's calls recorded."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.moderation.moderator import Moderator
from services.moderation.policy import Policy
from services.moderation.scoring import Engine
from tests.moderation.recording import CACHES, RecordingEngine


@pytest.fixture
def counting(engine: Engine) -> RecordingEngine:
    return RecordingEngine(engine)


@pytest.fixture
async def moderator(redis: Redis, counting: RecordingEngine) -> AsyncIterator[Moderator]:
    moderator = Moderator(redis, counting, Policy(), CACHES)
    yield moderator
    moderator.close()
