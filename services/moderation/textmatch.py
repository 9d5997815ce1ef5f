"""Finding listed words and links in a comment, through the disguises people use to slip by.

Matching runs on a normalised copy of the text (compatibility forms, case, accents and other
combining marks, zero-width and bidirectional controls, look-alike letters from other scripts,
leetspeak) that remembers where each of its characters came from, so every match is reported
as a span of the original text, ready to highlight. The stored comment is never changed.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Invisible characters used to split a word so a plain filter misses it: every format
# character (category Cf: zero-width spaces and joiners, soft hyphen, bidirectional controls
# such as U+202E, word joiner, BOM) and the blank fillers that are not marked as such.
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u180e"}
# Letters of other scripts that look like Latin ones (after case folding), read as those.
_LOOKALIKES = {
    "a": ["CYRILLIC SMALL LETTER A", "GREEK SMALL LETTER ALPHA", "LATIN SMALL LETTER ALPHA"],
    "b": ["CYRILLIC SMALL LETTER VE", "GREEK SMALL LETTER BETA"],
    "c": ["CYRILLIC SMALL LETTER ES"],
    "d": ["CYRILLIC SMALL LETTER KOMI DE"],
    "e": ["CYRILLIC SMALL LETTER IE", "CYRILLIC SMALL LETTER IO", "GREEK SMALL LETTER EPSILON"],
    "g": ["LATIN SMALL LETTER SCRIPT G", "ARMENIAN SMALL LETTER CO"],
    "h": ["CYRILLIC SMALL LETTER SHHA", "CYRILLIC SMALL LETTER EN", "ARMENIAN SMALL LETTER HO"],
    "i": [
        "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I",
        "CYRILLIC SMALL LETTER YI",
        "GREEK SMALL LETTER IOTA",
        "LATIN SMALL LETTER DOTLESS I",
        "LATIN SMALL LETTER IOTA",
        "LATIN LETTER SMALL CAPITAL I",
    ],
    "j": ["CYRILLIC SMALL LETTER JE"],
    "k": ["CYRILLIC SMALL LETTER KA", "GREEK SMALL LETTER KAPPA"],
    "l": ["CYRILLIC SMALL LETTER PALOCHKA"],
    "m": ["CYRILLIC SMALL LETTER EM"],
    "n": ["GREEK SMALL LETTER ETA", "ARMENIAN SMALL LETTER VO"],
    "o": [
        "CYRILLIC SMALL LETTER O",
        "GREEK SMALL LETTER OMICRON",
        "ARMENIAN SMALL LETTER OH",
    ],
    "p": ["CYRILLIC SMALL LETTER ER", "GREEK SMALL LETTER RHO"],
    "q": ["CYRILLIC SMALL LETTER QA"],
    "r": ["LATIN LETTER SMALL CAPITAL R"],
    "s": ["CYRILLIC SMALL LETTER DZE"],
    "t": ["CYRILLIC SMALL LETTER TE", "GREEK SMALL LETTER TAU"],
    "u": ["GREEK SMALL LETTER UPSILON", "ARMENIAN SMALL LETTER SEH"],
    "v": ["GREEK SMALL LETTER NU", "CYRILLIC SMALL LETTER IZHITSA"],
    "w": ["CYRILLIC SMALL LETTER WE", "GREEK SMALL LETTER OMEGA"],
    "x": ["CYRILLIC SMALL LETTER HA", "GREEK SMALL LETTER CHI"],
    "y": ["CYRILLIC SMALL LETTER U", "CYRILLIC SMALL LETTER STRAIGHT U"],
}
_HOMOGLYPHS = str.maketrans(
    {unicodedata.lookup(name): latin for latin, names in _LOOKALIKES.items() for name in names}
)
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
    origin: Sequence[int]  # for each character of `text`, its index in the original

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


def _invisible(char: str) -> bool:
    return char in _FILLERS or unicodedata.category(char) == "Cf"


def normalise(text: str) -> Normalised:
    """NFKC's compatibility mapping (fullwidth, ligatures, styled letters) by way of NFKD, so
    that combining marks come apart and are dropped; case-folded; invisible characters
    dropped; look-alike letters and leetspeak read as the Latin letters they pass for."""
    if text.isascii():  # most comments: one character for one, no accents or invisibles
        return Normalised(text.lower().translate(_LEET), range(len(text)))
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if _invisible(char):
            continue
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part) or _invisible(part):
                continue
            for folded in part.casefold().translate(_HOMOGLYPHS).translate(_LEET):
                chars.append(folded)
                origin.append(index)
    return Normalised("".join(chars), tuple(origin))


# A word that mixes letters with characters read as letters ("1d10t", "m0rons", "$tupid").
_DISGUISED = re.compile(r"(?<![\w@$])(?=(?:[@$]*\w){3})[\w@$]*[a-z][\w@$]*(?![\w@$])", re.I)
_LEET_CHARS = frozenset("013457@$")


def _reveal(hit: re.Match[str]) -> str:
    word = hit.group()
    letters = sum(c.isalpha() for c in word)
    if letters < 2 or not _LEET_CHARS.intersection(word) or word.isdigit():
        return word
    return word.translate(_LEET)


def deobfuscate(text: str) -> str:
    """The text as a reader sees it, for a model: invisible characters dropped and leetspeak
    read as letters inside words that have letters (`1d10t` -> `idiot`); numbers, case and
    everything else stay as written."""
    if not text.isascii():
        text = "".join(c for c in text if not _invisible(c))
    return _DISGUISED.sub(_reveal, text)


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


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Matcher:
    """Single words are looked up token by token (a list of thousands costs one pass);
    phrases and `re:` entries are searched as regular expressions."""

    words: dict[str, str]  # normalised word -> entry
    patterns: tuple[tuple[str, re.Pattern[str]], ...]


@lru_cache(maxsize=256)
def matcher(entries: tuple[str, ...]) -> Matcher:
    words: dict[str, str] = {}
    patterns = []
    for entry in entries:
        plain = normalise(entry).text.strip()
        if not entry.startswith(REGEX_PREFIX) and _WORD.fullmatch(plain):
            words.setdefault(plain, entry)
        else:
            patterns.append((entry, re.compile(entry_pattern(entry))))
    return Matcher(words, tuple(patterns))


def find_terms(text: str, entries: Sequence[str], limit: int = 20) -> list[Match]:
    """Every occurrence of every entry, in text order, at most `limit`."""
    if not entries or not text:
        return []
    norm = normalise(text)
    found_at: list[tuple[str, int, int]] = []
    compiled = matcher(tuple(entries))
    if compiled.words:
        for token in _WORD.finditer(norm.text):
            entry = compiled.words.get(token.group())
            if entry is not None:
                found_at.append((entry, token.start(), token.end()))
    for entry, pattern in compiled.patterns:
        found_at += [(entry, hit.start(), hit.end()) for hit in pattern.finditer(norm.text)]
    found = []
    for entry, start, end in found_at:
        if end > start:
            first, last = norm.span(start, end)
            while last < len(text) and unicodedata.combining(text[last]):
                last += 1  # a mark on the last letter belongs to the match
            found.append(Match(entry, first, last, text[first:last]))
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
