"""`modctl soak` end to end, short: its own bed, seeded faults, and the final count."""

import random

import pytest

from services.modctl.soak import FAULTS, run_soak, schedule

pytestmark = [pytest.mark.kafka, pytest.mark.faults]


def test_the_same_seed_gives_the_same_faults() -> None:
    first = schedule(random.Random(3), 20_000, 6)
    assert first == schedule(random.Random(3), 20_000, 6)
    assert first != schedule(random.Random(4), 20_000, 6)
    assert {fault for _, fault in first} <= set(FAULTS)
    assert [at for at, _ in first] == sorted(at for at, _ in first)


def test_a_short_soak_counts_every_comment() -> None:
    lines: list[str] = []
    tally = run_soak(400, seed=11, faults=2, say=lines.append)
    assert sum("(posted" in line for line in lines) == 2  # both faults injected
    assert (tally.submitted, tally.verdicts, tally.lost, tally.duplicates) == (400, 400, 0, 0)
    assert tally.released + tally.held + tally.rejected == 400
