"""`make run`'s progress: one line per step with its time, and on failure what to do."""

import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
NAME_WIDTH = 13  # deploy/install.sh prints its steps in the same columns


class StepFailed(SystemExit):
    """Raised after the failure was printed: the command exits with status 1."""

    def __init__(self) -> None:
        super().__init__(1)


def run_step(name: str, action: Callable[[], tuple[T, str]], hint: str) -> T:
    """Run `action`, which returns its result and what it did, and print the step's line; on
    an error print it with `hint` and raise StepFailed."""
    began = time.monotonic()
    try:
        result, done = action()
    except Exception as error:
        seconds = time.monotonic() - began
        print(f"{name:{NAME_WIDTH}} FAILED after {seconds:.1f}s: {error}", file=sys.stderr)
        print(f"{'':{NAME_WIDTH}} {hint}", file=sys.stderr, flush=True)
        raise StepFailed() from error
    print(f"{name:{NAME_WIDTH}} {done} ({time.monotonic() - began:.1f}s)", flush=True)
    return result
