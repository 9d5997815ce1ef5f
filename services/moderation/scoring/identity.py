"""Identity terms, so the toxicity model scores what is said about a group, not which group.

`modctl train` trains every text that names a listed term beside a twin naming another term,
and pulls the two towards the same scores (finetune.py): the model learns it, and scoring
needs no second pass. The list is the project's own; the bias madlibs set is used to measure
the result, never to fit it. Terms are found as commenters write them, loosely spelled.
"""

import re
from collections.abc import Callable, Sequence

IDENTITY_TERMS = (
    # religion
    "muslim", "muslims", "islamic", "jewish", "jew", "jews", "christian", "christians",
    "catholic", "catholics", "protestant", "protestants", "hindu", "hindus", "buddhist",
    "buddhists", "sikh", "sikhs", "atheist", "atheists", "mormon", "mormons", "taoist",
    # ethnicity and nationality
    "black", "blacks", "white", "whites", "asian", "asians", "african", "african american",
    "african americans", "hispanic", "hispanics", "latino", "latinos", "latina", "latinas",
    "latinx", "arab", "arabs", "middle eastern", "native american", "native americans",
    "indigenous", "european", "europeans", "american", "americans", "canadian", "canadians",
    "mexican", "mexicans", "chinese", "japanese", "korean", "koreans", "indian", "indians",
    "russian", "russians", "irish", "polish", "pakistani", "pakistanis", "somali", "somalis",
    "immigrant", "immigrants", "refugee", "refugees",
    # sexual orientation and gender
    "gay", "gays", "lesbian", "lesbians", "bisexual", "bisexuals", "queer", "homosexual",
    "homosexuals", "heterosexual", "heterosexuals", "straight", "trans", "transgender",
    "nonbinary", "non-binary", "lgbt", "lgbtq", "male", "female", "woman", "women", "man",
    "men", "girl", "girls", "boy", "boys",
    # age
    "young", "younger", "old", "older", "elderly", "teenage", "teenager", "teenagers",
    "middle aged", "millennial", "millennials", "boomer", "boomers",
    # disability
    "blind", "deaf", "disabled", "paralyzed", "autistic", "wheelchair user",
)  # fmt: skip


def spelled_loosely(term: str) -> str:
    """A pattern for `term` in which a doubled letter inside a word may be written once, the
    commonest misspelling ("millenial", "imigrants"); a doubled last letter stays doubled, so
    "refugee" does not match "refuge"."""
    parts = []
    for run in re.finditer(r"(.)\1*", term):
        letter, count = run.group(1), len(run.group(0))
        ends_word = run.end() == len(term) or not term[run.end()].isalpha()
        if count > 1 and letter.isalpha() and not ends_word:
            parts.append(f"{re.escape(letter)}{{1,{count}}}")
        else:
            parts.append(re.escape(run.group(0)))
    return "".join(parts)


NEUTRAL = "person"
_PATTERN = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(spelled_loosely(t) for t in sorted(IDENTITY_TERMS, key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)


def swap_terms(text: str, pick: Callable[[Sequence[str]], str]) -> str:
    """The text with each listed identity term replaced by another (`pick` chooses it): the
    same sentence about another group, for training the model to score both alike."""
    return _PATTERN.sub(lambda _: pick(IDENTITY_TERMS), text)


def neutralise(text: str) -> str:
    """The text with every listed identity term replaced by one neutral word."""
    return _PATTERN.sub(NEUTRAL, text)


def names_identity(text: str) -> bool:
    return _PATTERN.search(text) is not None


def groups_named(text: str) -> frozenset[str]:
    """The listed terms a text names, one key per word however it is written: lower case,
    doubled letters and a plural "s" folded ("Muslims", "muslim" and "Musslim" are one)."""
    return frozenset(
        re.sub(r"(.)\1", r"\1", match.group(0).lower()).removesuffix("s")
        for match in _PATTERN.finditer(text)
    )
