"""Label -> attribute mapping and sentence spans, without a server."""

from collections.abc import Sequence

import numpy as np

from services.modctl.training_data import LABELS
from services.moderation.analysis import ChunkVectors
from services.moderation.scoring import LabelScores, Vectors
from services.perspective.attributes import attribute_labels, sentences
from services.perspective.scorer import Job, run_batch

DETOXIFY_UNBIASED = [
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
    "male",  # identity labels have no Perspective attribute
]


def test_detoxify_labels_map_to_every_perspective_attribute() -> None:
    assert attribute_labels(DETOXIFY_UNBIASED) == {
        "TOXICITY": "toxicity",
        "SEVERE_TOXICITY": "severe_toxicity",
        "PROFANITY": "obscene",
        "IDENTITY_ATTACK": "identity_attack",
        "INSULT": "insult",
        "THREAT": "threat",
        "SEXUALLY_EXPLICIT": "sexual_explicit",
    }
    assert attribute_labels(["toxicity"]) == {"TOXICITY": "toxicity"}


def test_the_embedded_engines_labels_map_to_six_attributes() -> None:
    assert set(attribute_labels(LABELS)) == {
        "TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT"
    }  # fmt: skip


def test_sentences_carry_offsets_without_surrounding_space() -> None:
    text = "  First one.  Second?!\nThird without a stop"
    assert [(s.begin, s.end, s.text) for s in sentences(text)] == [
        (2, 12, "First one."),
        (14, 22, "Second?!"),
        (23, 43, "Third without a stop"),
    ]
    assert sentences("   ") == []


class FakeEngine:
    name = "fake"
    model_version = "1"

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        return [{"toxicity": len(t) / 100} for t in texts]

    def embed(self, texts: Sequence[str]) -> Vectors:
        return np.asarray([[1.0, 0.0] if "a" in t else [0.0, 1.0] for t in texts], np.float32)

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        return self.embed(texts)


class CountingEngine(FakeEngine):
    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded += texts
        return super().embed(texts)


def test_one_batch_serves_every_job_in_order() -> None:
    jobs = [Job(["abc", "ab"]), Job(["a"], context=["a", "aa"]), Job(["b"], context=["a"])]
    engine = CountingEngine()
    known = ChunkVectors()
    results = run_batch(engine, jobs, known)
    assert [[s["toxicity"] for s in r.scores] for r in results] == [[0.03, 0.02], [0.01], [0.01]]
    assert [r.relevance for r in results] == [None, 1.0, 0.0]
    assert engine.embedded == ["a", "b", "a", "aa"]  # comments, then each chunk once
    again = run_batch(engine, [Job(["b"], context=["aa", "a"])], known)
    assert [r.relevance for r in again] == [0.0]
    assert engine.embedded[4:] == ["b"]  # the context's chunks came from `known`
