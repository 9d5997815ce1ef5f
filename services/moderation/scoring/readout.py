"""From an encoder pass to the embedded engine's scores, the same whichever runtime computed
the pass (ONNX Runtime or torch): what the model reads, the label probabilities, and
toxicity's blend with the lexical model."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.moderation.scoring import Vectors
from services.moderation.scoring.identity import neutralise
from services.moderation.scoring.profanity import lexical_profanity
from services.moderation.textmatch import deobfuscate

DIMENSIONS = 384


@dataclass(frozen=True)
class Encoded:
    embeddings: Vectors  # unit length, for relevance
    logits: NDArray[np.float32]  # texts x labels


def empty_encoding(texts: int, labels: int) -> Encoded:
    return Encoded(
        np.zeros((texts, DIMENSIONS), dtype=np.float32),
        np.zeros((texts, labels), dtype=np.float32),
    )


def as_read(text: str) -> str:
    """What the model reads of a comment: disguises undone ("1d10t" is "idiot") and identity
    terms made neutral, so naming a group cannot move any score."""
    return neutralise(deobfuscate(text))


def as_written(text: str) -> str:
    """What the model reads of an article: disguises undone, identity terms kept. Measured on
    published NYT comments against their own and another article (`modctl
    calibrate-relevance`), reading articles neutralised too cost 0.016 ROC-AUC: nationalities,
    religions and "women" are often what a news article is about."""
    return deobfuscate(text)


def probabilities(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


# Named in the engine's model version: scores read another way are another model's.
JOINT_READOUT = "joint-labels"


def joint(labels: tuple[str, ...], probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Every label but toxicity as P(toxic) x P(label | toxic).

    Most training sets mark insults, threats or identity attacks only among toxic texts, so
    the head learnt those labels as contrasts within toxic texts; read alone they rank civil
    comments above abusive ones (identity_attack ROC-AUC 0.30 on the Jigsaw test sample, never
    trained on). Times toxicity, each ranks all comments as Perspective's attributes do.
    """
    if "toxicity" not in labels:
        return probs
    toxic = probs[:, [labels.index("toxicity")]]
    scaled = probs * toxic
    scaled[:, labels.index("toxicity")] = toxic[:, 0]
    return scaled


def log_odds(p: NDArray[np.float64]) -> NDArray[np.float64]:
    clipped = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


def lexical_log_odds(texts_as_read: Sequence[str]) -> NDArray[np.float64]:
    """alt-profanity-check's log-odds on texts as the model reads them (`as_read`): with
    identity terms made neutral, since its word list counts "gay" as profanity (0.95 for
    "I am a gay man")."""
    return log_odds(lexical_profanity().probabilities(texts_as_read))


def blended(
    labels: tuple[str, ...],
    blend: tuple[float, float, float] | None,
    texts_as_read: Sequence[str],
    logits: NDArray[np.float32],
) -> NDArray[np.float32]:
    """The logits with toxicity's replaced by its blend with alt-profanity-check, where the
    weights file has one."""
    if blend is None or not texts_as_read:
        return logits
    a, b, c = blend
    lexical = lexical_log_odds(texts_as_read)
    out = logits.copy()
    column = labels.index("toxicity")
    out[:, column] = a * logits[:, column] + b * lexical + c
    return out


def unit_rows(pooled: NDArray[np.float32]) -> Vectors:
    """Each row scaled to length 1, as the model's Normalize module does."""
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return np.asarray(pooled / norms, dtype=np.float32)
