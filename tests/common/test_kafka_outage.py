"""A Kafka outage is one warning as it begins and one as it ends, not aiokafka's stream of
connection errors; aiokafka's other messages are kept. The records are logged the way aiokafka
logs them: its loggers, its messages, its arguments (aiokafka 0.14)."""

import asyncio
import logging
import ssl
from collections.abc import Iterator

import pytest
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    KafkaConnectionError,
    NodeNotReadyError,
)

from services.common.kafka_outage import KafkaOutageLog
from tests.processes import free_port

OUTAGE_LOGGER = "services.common.kafka_outage"
REFUSED = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9092)")
NOT_READY = NodeNotReadyError("Attempt to send a request to node which is not ready (node id 1).")

# What an aiokafka service logs while its broker is down (seen in the fault suite's logs).
OUTAGE: list[tuple[str, int, str, tuple[object, ...]]] = [
    ("aiokafka", logging.ERROR, "Unable connect to node with id %s: %s", (1, REFUSED)),
    ("aiokafka", logging.ERROR, "Unable to update metadata from %s", ([1],)),
    ("aiokafka", logging.ERROR, 'Unable connect to "%s:%s": %s', ("127.0.0.1", 9092, REFUSED)),
    (
        "aiokafka.consumer.fetcher",
        logging.ERROR,
        "Failed fetch messages from %s: %s",
        (1, KafkaConnectionError("Connection at 127.0.0.1:9092 closed")),
    ),
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Group Coordinator Request failed: %s",
        (NOT_READY,),
    ),
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Error sending %s to node %s [%s] -- marking coordinator dead",
        ("HeartbeatRequest", 1, NOT_READY),
    ),
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Heartbeat send request failed: %s. Will retry.",
        (NOT_READY,),
    ),
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Heartbeat session expired - marking coordinator dead",
        (),
    ),
    ("aiokafka.producer.sender", logging.WARNING, "Got error produce response: %s", (NOT_READY,)),
    # The broker is back but does not serve the group yet: part of the same outage, and on its
    # own the start of one (a broker restarted, its coordinator moving).
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Group Coordinator Request failed: %s",
        (GroupCoordinatorNotAvailableError(),),
    ),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Captured(logging.Handler):
    """What the service's handler would write, with the filter on it as setup_logging puts it."""

    def __init__(self, outages: KafkaOutageLog) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(outages)
        self.records: list[logging.LogRecord] = []
        self.ended = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.name == OUTAGE_LOGGER and "reachable again" in record.getMessage():
            self.ended.set()

    def outage_warnings(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name == OUTAGE_LOGGER]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def captured(clock: Clock) -> Iterator[Captured]:
    handler = Captured(KafkaOutageLog(quiet_seconds=10.0, clock=clock))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def log_outage(clock: Clock, rounds: int) -> None:
    for _ in range(rounds):
        for name, level, message, args in OUTAGE:
            logging.getLogger(name).log(level, message, *args)
        clock.now += 0.5


def test_an_outage_is_one_warning_as_it_begins_and_one_with_its_duration_as_it_ends(
    captured: Captured, clock: Clock
) -> None:
    outages = captured.filters[0]
    assert isinstance(outages, KafkaOutageLog)
    log_outage(clock, rounds=20)  # 10 s of outage, 200 records
    (began,) = captured.records
    assert began.name == OUTAGE_LOGGER
    assert began.levelno == logging.WARNING
    assert "Kafka unreachable" in began.getMessage()
    assert "Connect call failed" in began.__dict__["error"]

    clock.now += 9.0  # quiet, but not for long enough yet
    outages.end_if_quiet()
    assert len(captured.records) == 1
    clock.now += 1.0
    outages.end_if_quiet()
    began, ended = captured.records
    assert ended.levelno == logging.WARNING
    assert ended.getMessage() == "Kafka reachable again after an outage of 9.5 s"
    assert ended.__dict__["outage_seconds"] == pytest.approx(9.5)
    assert ended.__dict__["muted_records"] == 20 * len(OUTAGE)
    assert all(r.levelno < logging.ERROR for r in captured.records)

    outages.end_if_quiet()  # once only
    log_outage(clock, rounds=1)  # the next outage is told again
    assert [r.getMessage()[:17] for r in captured.outage_warnings()] == [
        "Kafka unreachable",
        "Kafka reachable a",
        "Kafka unreachable",
    ]


def test_aiokafka_messages_that_are_no_connection_error_are_kept(captured: Captured) -> None:
    kept: list[tuple[str, int, str, tuple[object, ...]]] = [
        ("aiokafka.cluster", logging.ERROR, "Topic %s not found in cluster metadata", ("t",)),
        (
            "aiokafka.consumer.group_coordinator",
            logging.WARNING,
            "Heartbeat failed for group %s because it is rebalancing",
            ("g",),
        ),
        # Also what a blocked event loop leads to: part of an outage only once one began.
        (
            "aiokafka.consumer.group_coordinator",
            logging.ERROR,
            "Heartbeat session expired - marking coordinator dead",
            (),
        ),
        # A certificate that does not verify is a misconfiguration, not an outage.
        (
            "aiokafka",
            logging.ERROR,
            'Unable connect to "%s:%s": %s',
            ("kafka", 9093, ssl.SSLCertVerificationError("certificate verify failed")),
        ),
    ]
    for name, level, message, args in kept:
        logging.getLogger(name).log(level, message, *args)
    assert [(r.name, r.levelno, r.msg) for r in captured.records] == [
        (name, level, message) for name, level, message, _ in kept
    ]

    log_outage(clock=Clock(), rounds=1)
    logging.getLogger("aiokafka.cluster").error("Topic %s not found in cluster metadata", "u")
    assert captured.records[-1].getMessage() == "Topic u not found in cluster metadata"
    assert len(captured.outage_warnings()) == 1


async def test_a_real_client_that_cannot_connect_is_told_once_and_ends_by_itself() -> None:
    handler = Captured(KafkaOutageLog(quiet_seconds=0.2))
    root = logging.getLogger()
    root.addHandler(handler)
    client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{free_port()}")  # nothing listens
    try:
        for _ in range(3):
            with pytest.raises(KafkaConnectionError):
                await client.bootstrap()
        await asyncio.wait_for(handler.ended.wait(), timeout=10)
    finally:
        await client.close()
        root.removeHandler(handler)
    aiokafka = [r for r in handler.records if r.name.startswith("aiokafka")]
    assert aiokafka == []
    began, ended = handler.outage_warnings()
    assert "Unable connect to" in began.__dict__["error"]
    assert ended.__dict__["muted_records"] >= 3


def test_a_coordinator_not_serving_the_group_is_an_outage_not_an_error_line(
    captured: Captured,
) -> None:
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError()
    )
    assert [r.getMessage()[:17] for r in captured.records] == ["Kafka unreachable"]
    assert all(r.levelno < logging.ERROR for r in captured.records)
