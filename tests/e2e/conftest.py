"""The end-to-end tests run against the session's `system` (tests/system.py)."""
