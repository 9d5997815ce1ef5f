"""Fitting and judging a tenant's adapter (services/modctl/adapt.py) on made-up decisions
whose moderators follow one label: what it learns, when it refuses, and why."""

import random
from datetime import timedelta

import numpy as np
import pytest

from services.common.contract import CommentSubmitted, Scores, Verdict, utc_now
from services.modctl.adapt import (
    MIN_DECISIONS,
    Example,
    adapt,
    agreement,
    choose_band,
    examples,
    gain_lower_bound,
    time_split,
)
from services.moderation.adaptation import SITE_LABEL, AdapterKind
from services.moderation.policy import Band
from services.publisher.labels import LabelledDecision

SHARED = {"toxicity": Band(review=0.5, reject=0.9)}
START = utc_now()


def made_up(count: int, seed: int = 0, follows: str = "profanity") -> list[Example]:
    """Comments, some toxic, of which half profane and half insulting, scored as the embedded
    engine reads labels (P(toxic) x P(label | toxic)); the site removes what `follows` marks."""
    rng = random.Random(seed)
    found = []
    for i in range(count):
        profane, insult = rng.random() < 0.5, rng.random() < 0.5
        toxic = rng.uniform(0.55, 0.95) if (profane or insult) else rng.uniform(0.0, 0.4)
        scores = {
            "toxicity": toxic,
            "profanity": toxic * (rng.uniform(0.6, 0.95) if profane else rng.uniform(0.02, 0.3)),
            "insult": toxic * (rng.uniform(0.6, 0.95) if insult else rng.uniform(0.02, 0.3)),
        }
        removed = {"profanity": profane, "insult": insult, "coin": rng.random() < 0.5}[follows]
        found.append(Example(f"c{i}", scores, removed, START + timedelta(seconds=i)))
    return found


def test_the_later_comments_judge() -> None:
    earlier, later = time_split(made_up(100))
    assert (len(earlier), len(later)) == (70, 30)
    assert max(e.submitted_at for e in earlier) < min(e.submitted_at for e in later)


def test_a_site_that_removes_profanity_gets_a_calibration_that_follows_it() -> None:
    outcome = adapt(made_up(300), SHARED, None, margin=0.02)
    assert outcome.chosen is not None, outcome.why
    chosen = outcome.chosen
    assert chosen.kind is AdapterKind.CALIBRATION
    assert outcome.shared_agreement is not None
    assert chosen.agreement >= outcome.shared_agreement + 0.2
    weights = dict(zip(outcome.labels, chosen.weights, strict=True))
    assert weights["profanity"] > 5 * max(weights["insult"], weights["toxicity"], 1e-3)
    assert all(w >= 0 for w in chosen.weights)  # a higher label score never lowers removal


def test_a_head_is_tried_when_there_are_enough_decisions() -> None:
    found = made_up(400)
    rng = np.random.default_rng(0)
    vectors = {e.text: rng.normal(size=8).astype(np.float32) for e in found}
    outcome = adapt(found, SHARED, lambda texts: np.stack([vectors[t] for t in texts]), 0.02)
    assert [c.kind for c in outcome.candidates] == [AdapterKind.CALIBRATION, AdapterKind.HEAD]
    head = outcome.candidates[1]
    assert len(head.weights) == len(outcome.labels) + 8


def test_moderators_the_labels_do_not_explain_change_nothing() -> None:
    outcome = adapt(made_up(300, follows="coin"), SHARED, None, margin=0.02)
    assert outcome.chosen is None
    assert "of the later decisions, the shared model on" in outcome.why


def test_a_gain_must_be_clear_of_chance() -> None:
    found = made_up(100)
    truth = [e.removed for e in found]
    shared = [not t if i < 10 else t for i, t in enumerate(truth)]  # wrong on the first ten
    # Right on six of those ten, wrong on four comments the shared model has right: +0.02.
    narrow = [not t if 6 <= i < 14 else t for i, t in enumerate(truth)]
    assert agreement(narrow, found) - agreement(shared, found) == pytest.approx(0.02)
    assert gain_lower_bound(narrow, shared, found, 0.8) < 0
    assert gain_lower_bound(truth, shared, found, 0.8) > 0.05  # right on all ten


def test_a_gain_below_the_margin_changes_nothing() -> None:
    outcome = adapt(made_up(300), SHARED, None, margin=0.6)
    assert outcome.chosen is None
    assert "below the margin of 0.600" in outcome.why


def test_too_few_decisions_change_nothing_and_say_so() -> None:
    outcome = adapt(made_up(MIN_DECISIONS - 1), SHARED, None, margin=0.02)
    assert outcome.chosen is None
    assert outcome.why == f"{MIN_DECISIONS - 1} decisions; at least {MIN_DECISIONS} are needed"


def test_reject_only_where_the_moderators_nearly_always_removed() -> None:
    probabilities = np.linspace(0.0, 1.0, 101)
    removed = [p > 0.6 for p in probabilities]
    band = choose_band(probabilities, removed)
    assert 0.55 <= band.review <= 0.65
    assert band.reject <= 0.7
    coin = choose_band(probabilities, [i % 2 == 0 for i in range(101)])
    assert coin.reject == 1.0  # nowhere are 95% removed: never auto-reject


def labelled(comment_id: str, verdict: Verdict, by: str, model: str, **scores: float) -> object:
    comment = CommentSubmitted.model_validate(
        {
            "tenant_id": "t",
            "article_id": "a",
            "comment_id": comment_id,
            "author": {"id": "r", "display_name": "R"},
            "body": comment_id,
        }
    )
    return LabelledDecision(
        tenant_id="t",
        article_id="a",
        comment_id=comment_id,
        text=comment.body,
        verdict=verdict,
        category=None,
        decided_by=by,
        decided_at=utc_now(),
        submitted_at=comment.submitted_at,
        scores=Scores(toxicity=scores),
        engine="embedded",
        model_version=model,
        machine_verdict=None,
    )


def test_the_last_verdict_per_comment_of_the_current_model_counts() -> None:
    rows = [
        labelled("x", Verdict.APPROVED, "system", "m1", toxicity=0.1),
        labelled("x", Verdict.REJECTED, "ann", "m1", toxicity=0.1),  # taken down later
        labelled("y", Verdict.REJECTED, "ann", "m1+site:t.1", toxicity=0.7, **{SITE_LABEL: 0.9}),
        labelled("z", Verdict.REJECTED, "ann", "m0", toxicity=0.9),  # an older model's scores
    ]
    found = {e.text: e for e in examples(rows, "embedded", "m1")}  # type: ignore[arg-type]
    assert set(found) == {"x", "y"}
    assert found["x"].removed
    assert found["y"].toxicity == {"toxicity": 0.7}  # the site score is not a feature
