"""Outages are waited out; one failing item is isolated and given up on, the rest go through."""

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from redis.exceptions import ConnectionError as RedisConnectionError

from services.common.retry import is_transient, process_isolating


class Handler:
    def __init__(self, outages: int = 0, poison: str | None = None) -> None:
        self.outages = outages
        self.poison = poison
        self.calls: list[list[str]] = []
        self.done: list[str] = []

    async def __call__(self, items: list[str]) -> None:
        self.calls.append(items)
        if self.outages:
            self.outages -= 1
            raise RedisConnectionError("redis is down")
        if self.poison in items:
            raise ValueError("cannot score this one")
        self.done += items


async def test_an_outage_is_waited_out_and_nothing_is_given_up() -> None:
    handler = Handler(outages=3)
    given_up: list[str] = []

    async def give_up(item: str, error: BaseException) -> None:
        given_up.append(item)

    await process_isolating(["a", "b"], handler, give_up, base_delay=0.001)
    assert handler.done == ["a", "b"]
    assert len(handler.calls) == 4
    assert given_up == []


async def test_a_failing_item_is_isolated_and_given_up_after_bounded_attempts() -> None:
    items = [f"c{i}" for i in range(8)]
    handler = Handler(poison="c5")
    given_up: list[tuple[str, str]] = []

    async def give_up(item: str, error: BaseException) -> None:
        given_up.append((item, str(error)))

    await process_isolating(items, handler, give_up, attempts_per_item=3, base_delay=0.001)
    assert sorted(handler.done) == sorted(i for i in items if i != "c5")
    assert given_up == [("c5", "cannot score this one")]
    assert handler.calls.count(["c5"]) == 3


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (RedisConnectionError("down"), True),
        (KafkaConnectionError(), True),
        (TimeoutError(), True),
        (MessageSizeTooLargeError(), False),
        (ValueError("bug"), False),
    ],
)
def test_what_counts_as_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
