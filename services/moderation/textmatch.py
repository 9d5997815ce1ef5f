"""Finding listed words and links in a comment, through the disguises people use to slip by.

Matching runs on a normalised copy of the text (case, accents, leetspeak and zero-width
characters removed) that remembers where each of its characters came from, so every match is
reported as a span of the original text, ready to highlight.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Invisible characters used to split a word so a plain filter misses it.
_INVISIBLE = {"\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e"}
# Characters read as letters inside words ("1d10t", "$tupid", "@ss").
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
REGEX_PREFIX = "re:"
_LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|ly|co|info|biz|ru|xyz|me|tv|gg)\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Match:
    term: str  # the list entry that matched
    start: int  # in the original text
    end: int
    text: str  # the original text of the match


@dataclass(frozen=True)
class Normalised:
    text: str
    origin: tuple[int, ...]  # for each character of `text`, its index in the original

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str) -> Normalised:
    """Case-folded, accents and invisible characters dropped, leetspeak read as letters."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold().translate(_LEET):
                chars.append(folded)
                origin.append(index)
    return Normalised("".join(chars), tuple(origin))


def entry_pattern(entry: str) -> str:
    """A list entry as a regular expression: `re:` entries as written, words on word boundaries."""
    if entry.startswith(REGEX_PREFIX):
        return entry[len(REGEX_PREFIX) :]
    words = normalise(entry).text.split()
    return r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"


def check_entry(entry: str) -> str | None:
    """Why an entry can't be used (an empty word, a broken regex), or None when it is fine."""
    if not entry.strip() or (
        not entry.startswith(REGEX_PREFIX) and not normalise(entry).text.split()
    ):
        return "empty entry"
    try:
        re.compile(entry_pattern(entry))
    except re.error as error:
        return f"invalid regular expression: {error}"
    return None


@lru_cache(maxsize=256)
def _compiled(entries: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((entry, re.compile(entry_pattern(entry))) for entry in entries)


def find_terms(text: str, entries: Sequence[str], limit: int = 20) -> list[Match]:
    """Every occurrence of every entry, in text order, at most `limit`."""
    if not entries or not text:
        return []
    norm = normalise(text)
    found: list[Match] = []
    for entry, pattern in _compiled(tuple(entries)):
        for hit in pattern.finditer(norm.text):
            if hit.end() == hit.start():
                continue
            start, end = norm.span(hit.start(), hit.end())
            found.append(Match(entry, start, end, text[start:end]))
    found.sort(key=lambda m: (m.start, m.end))
    return found[:limit]


def find_links(text: str, limit: int = 20) -> list[Match]:
    return [Match("link", hit.start(), hit.end(), hit.group()) for hit in _LINK.finditer(text)][
        :limit
    ]


def link_host(link: str) -> str:
    """`https://www.example.com/x` -> `example.com`."""
    host = re.sub(r"^(?:https?://)?", "", link, flags=re.IGNORECASE).split("/")[0].split(":")[0]
    host = host.lower()
    return host[4:] if host.startswith("www.") else host
