"""Identity terms are found as commenters write them, and only them."""

import pytest

from services.moderation.scoring.identity import NEUTRAL, neutralise, neutralise_changed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am a gay man", f"I am a {NEUTRAL} {NEUTRAL}"),
        ("Millennials vote", f"{NEUTRAL} vote"),
        ("a millenial voter", f"a {NEUTRAL} voter"),  # a doubled letter written once
        ("the imigrants", f"the {NEUTRAL}"),
        ("African American voters", f"{NEUTRAL} voters"),
        ("a refuge for birds", "a refuge for birds"),  # not "refugee"
        ("the oldest bridge", "the oldest bridge"),  # part of a word is not the term
        ("Gayety and mann", "Gayety and mann"),
    ],
)
def test_terms_as_written_and_misspelled(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_only_texts_naming_a_term_are_returned() -> None:
    changed, neutral = neutralise_changed(["Nice bridge", "Muslims are kind", "Thanks"])
    assert changed == [1]
    assert neutral == [f"{NEUTRAL} are kind"]
