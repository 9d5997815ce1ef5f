"""Identity terms, so the toxicity head scores what is said about a group, not which group.

Two levers, both fixed at training time: the lexical profanity feature is computed on the text
with identity terms replaced by a neutral word, and the head's embedding weights are projected
off the directions along which the sentence embedding moves when only the identity term
changes. The list and the frames below are the project's own; the bias madlibs set is used to
measure the result, never to fit it.
"""

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

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
NEUTRAL = "person"
# Sentence frames for finding the identity directions (the project's own wording).
FRAMES = (
    "{}",
    "{} people",
    "a {} person",
    "i am {}",
    "my neighbour is {}",
    "the {} community",
    "they are {}",
    "as a {} voter i disagree",
)
DIRECTIONS = 24  # how many identity directions the head is kept off


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


_PATTERN = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(spelled_loosely(t) for t in sorted(IDENTITY_TERMS, key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)


def neutralise(text: str) -> str:
    """The text with every listed identity term replaced by a neutral word."""
    return _PATTERN.sub(NEUTRAL, text)


def neutralise_changed(texts: Sequence[str]) -> tuple[list[int], list[str]]:
    """Indexes and neutralised texts of only those texts that name an identity term."""
    changed = [(i, neutralise(t)) for i, t in enumerate(texts) if _PATTERN.search(t)]
    return [i for i, _ in changed], [t for _, t in changed]


def identity_basis(
    embeddings: NDArray[np.float32], terms: int, count: int = DIRECTIONS
) -> NDArray[np.float64]:
    """Orthonormal basis (dims x count) of how embeddings vary with the term alone.

    `embeddings` holds FRAMES x terms rows, frame by frame; each frame's mean is removed so
    only the term's contribution is left, then the main directions of that are kept.
    """
    rows = embeddings.astype(np.float64).reshape(-1, terms, embeddings.shape[1])
    centred = (rows - rows.mean(axis=1, keepdims=True)).reshape(-1, embeddings.shape[1])
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:count].T


def frame_texts() -> list[str]:
    """FRAMES x IDENTITY_TERMS sentences, frame by frame, for `identity_basis`."""
    return [frame.format(term) for frame in FRAMES for term in IDENTITY_TERMS]
