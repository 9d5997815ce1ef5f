"""Our engines' labels as Perspective's attributes, and the sentences a text is scored by."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Engine label -> Perspective attribute. An engine offers the attributes of the labels it has:
# the embedded engine all but SEXUALLY_EXPLICIT, Detoxify's models all of these (Detoxify calls
# profanity `obscene`).
LABEL_ATTRIBUTES: dict[str, str] = {
    "toxicity": "TOXICITY",
    "severe_toxicity": "SEVERE_TOXICITY",
    "identity_attack": "IDENTITY_ATTACK",
    "insult": "INSULT",
    "obscene": "PROFANITY",
    "profanity": "PROFANITY",
    "threat": "THREAT",
    "sexual_explicit": "SEXUALLY_EXPLICIT",
}
# Not a Perspective attribute: cosine of the comment to `context.entries`, only when requested.
RELEVANCE = "RELEVANCE"
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def attribute_labels(labels: Iterable[str]) -> dict[str, str]:
    """Attribute -> label, for the labels an engine has."""
    return {LABEL_ATTRIBUTES[label]: label for label in labels if label in LABEL_ATTRIBUTES}


@dataclass(frozen=True)
class Span:
    begin: int
    end: int
    text: str


def sentences(text: str) -> list[Span]:
    """Each sentence with its [begin, end) character offsets, surrounding spaces left out."""
    spans = []
    for match in _SENTENCE.finditer(text):
        chunk = match.group()
        if not chunk.strip():
            continue
        begin = match.start() + len(chunk) - len(chunk.lstrip())
        end = match.end() - (len(chunk) - len(chunk.rstrip()))
        spans.append(Span(begin, end, text[begin:end]))
    return spans
