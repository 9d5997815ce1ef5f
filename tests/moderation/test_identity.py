"""Identity terms are found as commenters write them, and only them."""

import pytest

from services.moderation.scoring.identity import groups_named, names_identity, swap_terms

OTHER = "canadian"


def _other(_: object) -> str:
    return OTHER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am a gay man", f"I am a {OTHER} {OTHER}"),
        ("Millennials vote", f"{OTHER} vote"),
        ("a millenial voter", f"a {OTHER} voter"),  # a doubled letter written once
        ("the imigrants", f"the {OTHER}"),
        ("African American voters", f"{OTHER} voters"),
        ("a refuge for birds", "a refuge for birds"),  # not "refugee"
        ("the oldest bridge", "the oldest bridge"),  # part of a word is not the term
        ("Gayety and mann", "Gayety and mann"),
    ],
)
def test_terms_as_written_and_misspelled_are_swapped(text: str, expected: str) -> None:
    assert swap_terms(text, _other) == expected
    assert names_identity(text) == (text != expected)


def test_a_group_is_one_key_however_it_is_written() -> None:
    named = groups_named("Muslims and a muslim; MILLENIALS and millennials; the refugees")
    assert named == groups_named("muslim millennial refugee")
    assert len(named) == 3
    assert groups_named("a refuge for the oldest birds") == frozenset()
