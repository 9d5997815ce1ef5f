"""The end-to-end tests run against the session's `system` (tests/system.py)."""

from tests.system import System, wait_for

__all__ = ["System", "wait_for"]
