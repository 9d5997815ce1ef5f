"""A Kafka outage in the logs as two warnings, when it begins and when it ends.

The services ride out an outage (they wait and retry, see services.common.retry), but aiokafka
logs every failed connection at ERROR, thousands of lines a second, which buries whatever else
happened and pages whoever alerts on errors. Its other messages are kept.
"""

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable

from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    GroupLoadInProgressError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotCoordinatorForGroupError,
    RequestTimedOutError,
)

from services.common.retry import is_transient

log = logging.getLogger(__name__)

# aiokafka's messages that carry no exception: this one follows connections that failed...
_CONNECTION_MESSAGES = ("Unable to update metadata from",)
# ...and this one those too, but also an event loop blocked for too long: it only counts as
# part of an outage that has begun.
_OUTAGE_MESSAGES = ("Heartbeat session expired",)
_CONNECTION_ERRORS = (
    OSError,
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    KafkaTimeoutError,
    # A broker that answers but does not serve the consumer group yet (just restarted, or its
    # coordinator moving): to the service as unreachable as a closed port.
    GroupCoordinatorNotAvailableError,
    NotCoordinatorForGroupError,
    GroupLoadInProgressError,
)


def _errors(record: logging.LogRecord) -> list[BaseException]:
    """The exceptions aiokafka passed as arguments of the message."""
    args = record.args if isinstance(record.args, tuple) else ()
    return [arg for arg in args if isinstance(arg, BaseException)]


def is_connection_error(record: logging.LogRecord) -> bool:
    """aiokafka could not reach a broker. A TLS failure is a misconfiguration, not an outage."""
    if str(record.msg).startswith(_CONNECTION_MESSAGES):
        return True
    return any(
        isinstance(error, _CONNECTION_ERRORS) and not isinstance(error, ssl.SSLError)
        for error in _errors(record)
    )


def _part_of_outage(record: logging.LogRecord) -> bool:
    """Muted while an outage lasts: the other retriable errors of a broker coming back, too."""
    if str(record.msg).startswith(_OUTAGE_MESSAGES):
        return True
    return is_connection_error(record) or any(map(is_transient, _errors(record)))


class KafkaOutageLog(logging.Filter):
    """On a handler: the first aiokafka connection error becomes a warning that an outage began,
    and the outage's errors are muted. aiokafka logs nothing when it reconnects, so the outage
    counts as over once none of its errors has come for `quiet_seconds`; a second warning says
    so, with its duration from the first error to the last."""

    def __init__(self, quiet_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._began: float | None = None
        self._last = 0.0
        self._muted = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith("aiokafka"):
            return True
        if self._began is None:
            if not is_connection_error(record):
                return True
            self._begin(record)
        elif not _part_of_outage(record):
            return True
        self._last = self._clock()
        self._muted += 1
        return False

    def _begin(self, record: logging.LogRecord) -> None:
        self._began = self._clock()
        self._muted = 0
        log.warning(
            "Kafka unreachable; retrying, its client's connection errors muted until they stop",
            extra={"error": record.getMessage()},
        )
        self._check_after(self.quiet_seconds)

    def end_if_quiet(self) -> None:
        """Log the end of the outage if it is over; run by a timer on the running event loop
        (without one, whoever logs calls it)."""
        if self._began is None:
            return
        quiet = self._clock() - self._last
        if quiet < self.quiet_seconds:
            self._check_after(self.quiet_seconds - quiet)
            return
        duration = self._last - self._began
        log.warning(
            f"Kafka reachable again after an outage of {duration:.1f} s",
            extra={"outage_seconds": round(duration, 3), "muted_records": self._muted},
        )
        self._began = None

    def _check_after(self, delay: float) -> None:
        with contextlib.suppress(RuntimeError):  # no event loop in this thread
            asyncio.get_running_loop().call_later(delay, self.end_if_quiet)
