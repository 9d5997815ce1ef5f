"""The services as processes (see services/modctl/testbed), and waiting for conditions."""

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from services.modctl.processes import ROOT, ServiceProcess, free_port, wait_until_ok
from services.modctl.testbed.processes import System, running_system, service_env

__all__ = [
    "ROOT",
    "ServiceProcess",
    "System",
    "free_port",
    "running_system",
    "service_env",
    "wait_for",
    "wait_until_ok",
]

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll `check` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result is not None:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")
