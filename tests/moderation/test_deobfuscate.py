"""What the scoring engines read: leetspeak inside words and invisible characters undone,
numbers and everything else left as written."""

import pytest

from services.moderation.textmatch import deobfuscate


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ("Only a complete 1d10t would vote", "Only a complete idiot would vote"),
        ("These councillors are m0rons", "These councillors are morons"),
        ("$tupid", "stupid"),
        ("sh\u200bi\u00adt happens", "shit happens"),
        ("Route 14 and 31 cost 5% more in 2027", "Route 14 and 31 cost 5% more in 2027"),
        ("B4 noon, email a@b.com", "B4 noon, email a@b.com"),
    ],
)
def test_deobfuscate(text: str, seen: str) -> None:
    assert deobfuscate(text) == seen
