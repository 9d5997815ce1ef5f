"""Fitting a tenant's adapter from its moderators' decisions, and judging it on later ones.

The decisions are split by the time their comments came in: candidates learn from the earlier
comments and are scored on the later ones, as they would meet the site's next comments. A
candidate serves only if its agreement with the moderators there beats the shared model's by
`margin`.

Agreement counts a comment as the machine's "removal" when it would not publish it (held or
rejected), and as the moderators' when their last verdict rejected it. Both sides are judged on
the score rules only: the policy's other rules (words, links, authors) do not change.
Decisions exist for comments the desk saw (held ones, reinstated ones, taken-down ones), so
these figures describe that share of the traffic, not comments nobody looked at.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist

import numpy as np

from services.common.contract import Verdict
from services.moderation.adaptation import SITE_LABEL, AdapterKind, label_features, shared_model
from services.moderation.policy import Band, Policy, decide
from services.moderation.scoring import LabelScores, Vectors
from services.publisher.labels import LabelledDecision

LATER_SHARE = 0.3  # of the decisions, the latest: the evaluation
MIN_DECISIONS = 40  # fewer: nothing to learn from, nothing to judge by
MIN_PER_VERDICT = 5  # of removals and of approvals, in the earlier decisions
HEAD_MIN_DECISIONS = 200  # earlier decisions a head over the embedding needs
REJECT_PRECISION = 0.95  # the moderators removed at least this share of what is auto-rejected
MIN_REJECTED = 10
FOLDS = 5  # the earlier decisions' out-of-fold probabilities choose the band
# The gain on the later decisions must be at least the margin and, at this one-sided
# confidence, above zero: a few hundred decisions judge a candidate on about a hundred.
DEFAULT_CONFIDENCE = 0.8
# Inverse regularisation: the calibration has a handful of weights, the head hundreds.
STRENGTH = {AdapterKind.CALIBRATION: 1.0, AdapterKind.HEAD: 0.05}

Embed = Callable[[list[str]], Vectors]


@dataclass(frozen=True)
class Example:
    text: str
    toxicity: LabelScores  # the shared model's, without a site score
    removed: bool
    submitted_at: datetime


@dataclass(frozen=True)
class Candidate:
    kind: AdapterKind
    weights: list[float]
    bias: float
    band: Band
    agreement: float  # on the later decisions
    gain_low: float  # the lower confidence bound of its gain over the shared model there


@dataclass
class Outcome:
    """What `adapt` found; `chosen` is None when nothing should change, and `why` says why."""

    decisions: int
    earlier: int
    later: int
    labels: list[str]
    shared_agreement: float | None = None
    candidates: list[Candidate] = field(default_factory=list)
    chosen: Candidate | None = None
    why: str = ""


def examples(decisions: Sequence[LabelledDecision], engine: str, model: str) -> list[Example]:
    """The last verdict per comment, of comments scored by this engine's model, oldest
    comment first."""
    latest: dict[str, LabelledDecision] = {}
    for d in decisions:
        if d.engine == engine and shared_model(d.model_version) == model:
            latest[d.comment_id] = d
    found = [
        Example(
            text=d.text,
            toxicity={k: v for k, v in d.scores.toxicity.items() if k != SITE_LABEL},
            removed=d.verdict is Verdict.REJECTED,
            submitted_at=d.submitted_at,
        )
        for d in latest.values()
    ]
    return sorted(found, key=lambda e: e.submitted_at)


def time_split(found: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    cut = len(found) - max(1, round(len(found) * LATER_SHARE))
    return list(found[:cut]), list(found[cut:])


def agreement(machine_removes: Sequence[bool], examples: Sequence[Example]) -> float:
    return float(np.mean([m == e.removed for m, e in zip(machine_removes, examples, strict=True)]))


def shared_removes(example: Example, scoring: Policy) -> bool:
    """Whether the policy's score rules hold or reject the comment (the worker's `decide`)."""
    verdict, _ = decide(scoring, example.toxicity, None)
    return verdict is not Verdict.APPROVED


def adapt(
    decisions: Sequence[Example],
    thresholds: dict[str, Band],
    embed: Embed | None,
    margin: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Outcome:
    """Fit the candidates on the earlier decisions, judge them and the shared model on the
    later ones, and choose the best if it beats the shared model by `margin`."""
    earlier, later = time_split(decisions)
    labels = sorted({label for e in decisions for label in e.toxicity})
    outcome = Outcome(len(decisions), len(earlier), len(later), labels)
    removed = sum(e.removed for e in earlier)
    if len(decisions) < MIN_DECISIONS:
        outcome.why = f"{len(decisions)} decisions; at least {MIN_DECISIONS} are needed"
        return outcome
    if min(removed, len(earlier) - removed) < MIN_PER_VERDICT:
        outcome.why = (
            f"the earlier decisions hold {removed} removals and {len(earlier) - removed} "
            f"approvals; at least {MIN_PER_VERDICT} of each are needed"
        )
        return outcome
    scoring = Policy(thresholds=thresholds)  # the score rules alone: nothing else changes
    shared = [shared_removes(e, scoring) for e in later]
    outcome.shared_agreement = agreement(shared, later)
    kinds = [AdapterKind.CALIBRATION]
    if embed is not None and len(earlier) >= HEAD_MIN_DECISIONS:
        kinds.append(AdapterKind.HEAD)
    vectors = _embeddings(embed, decisions) if AdapterKind.HEAD in kinds else {}
    for kind in kinds:
        train = _features(kind, earlier, labels, vectors)
        truth = [e.removed for e in earlier]
        weights, bias = fit(train, truth, STRENGTH[kind], len(labels))
        band = choose_band(out_of_fold(train, truth, STRENGTH[kind], len(labels)), truth)
        later_p = _probabilities(_features(kind, later, labels, vectors), weights, bias)
        removes = [bool(p >= band.review) for p in later_p]
        score = agreement(removes, later)
        low = gain_lower_bound(removes, shared, later, confidence)
        outcome.candidates.append(Candidate(kind, weights, bias, band, score, low))
    best = max(outcome.candidates, key=lambda c: c.agreement)
    gain = best.agreement - outcome.shared_agreement
    if gain >= margin and best.gain_low > 0:
        outcome.chosen = best
    else:
        shortfall = (
            f"below the margin of {margin:.3f}"
            if gain < margin
            else f"not above zero at {confidence:.0%} (its lower bound is {best.gain_low:+.3f})"
        )
        outcome.why = (
            f"the best candidate ({best.kind}) agrees with the moderators on {best.agreement:.3f} "
            f"of the later decisions, the shared model on {outcome.shared_agreement:.3f}: "
            f"a gain of {gain:+.3f}, {shortfall}"
        )
    return outcome


def gain_lower_bound(
    adapted: Sequence[bool], shared: Sequence[bool], found: Sequence[Example], confidence: float
) -> float:
    """The one-sided lower confidence bound of the paired gain in agreement: only comments
    on which exactly one of the two is right move it."""
    n = len(found)
    right_a = np.array([a == e.removed for a, e in zip(adapted, found, strict=True)])
    right_s = np.array([s == e.removed for s, e in zip(shared, found, strict=True)])
    wins, losses = int(np.sum(right_a & ~right_s)), int(np.sum(right_s & ~right_a))
    gain = (wins - losses) / n
    spread = np.sqrt(max(wins + losses - n * gain**2, 0.0)) / n
    return float(gain - NormalDist().inv_cdf(confidence) * spread)


def fit(
    features: np.ndarray, removed: Sequence[bool], strength: float, monotone: int
) -> tuple[list[float], float]:
    """L2-regularised logistic regression on standardised features, returned on the raw ones.

    The first `monotone` weights (the labels') are kept at or above zero: a higher label score
    never makes removal less likely. Without that, decisions on held comments alone (the ones
    the desk sees) teach negative weights that push clean comments, low on every label, up.
    """
    from scipy.optimize import minimize

    mean = features.mean(axis=0)
    spread = features.std(axis=0)
    spread[spread < 1e-6] = 1.0
    x = (features - mean) / spread
    y = np.asarray(removed, dtype=np.float64)
    penalty = 1.0 / (strength * len(y))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        logits = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
        value = np.mean(np.logaddexp(0.0, logits) - y * logits) + 0.5 * penalty * w @ w
        error = (p - y) / len(y)
        return float(value), np.append(x.T @ error + penalty * w, error.sum())

    bounds = [(0.0, None)] * monotone + [(None, None)] * (x.shape[1] - monotone + 1)
    found = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    weights = found.x[:-1] / spread
    bias = float(found.x[-1] - np.dot(weights, mean))
    return [float(w) for w in weights], bias


def out_of_fold(
    features: np.ndarray, removed: Sequence[bool], strength: float, monotone: int
) -> np.ndarray:
    """Each example's probability from a fit without its fold (FOLDS blocks in time order):
    bands chosen on a model's own training fit would trust it more than new comments will."""
    folds = np.array_split(np.arange(len(removed)), FOLDS)
    truth = np.asarray(removed, dtype=bool)
    found = np.zeros(len(removed))
    for fold in folds:
        rest = np.setdiff1d(np.arange(len(removed)), fold)
        if truth[rest].all() or not truth[rest].any():
            found[fold] = truth[rest].mean()
            continue
        weights, bias = fit(features[rest], truth[rest].tolist(), strength, monotone)
        found[fold] = _probabilities(features[fold], weights, bias)
    return found


def choose_band(probabilities: np.ndarray, removed: Sequence[bool]) -> Band:
    """Review from the probability that agrees best with the moderators; reject only from
    where they removed at least REJECT_PRECISION of the comments (else never)."""
    truth = np.asarray(removed, dtype=bool)
    candidates = np.unique(np.concatenate([probabilities, np.linspace(0.05, 0.95, 19)]))
    agreements = [float(np.mean((probabilities >= t) == truth)) for t in candidates]
    review = float(candidates[int(np.argmax(agreements))])
    reject = 1.0
    for t in candidates[candidates >= review]:
        above = truth[probabilities >= t]
        if len(above) >= MIN_REJECTED and above.mean() >= REJECT_PRECISION:
            reject = float(t)
            break
    return Band(review=round(review, 6), reject=round(reject, 6))


def _features(
    kind: AdapterKind, found: Sequence[Example], labels: list[str], vectors: dict[str, Vectors]
) -> np.ndarray:
    rows = [label_features(e.toxicity, labels) for e in found]
    if kind is AdapterKind.HEAD:
        rows = [np.concatenate([r, vectors[e.text]]) for r, e in zip(rows, found, strict=True)]
    return np.stack(rows).astype(np.float64)


def _probabilities(features: np.ndarray, weights: list[float], bias: float) -> np.ndarray:
    logits = np.clip(features @ np.asarray(weights) + bias, -30.0, 30.0)
    return np.asarray(1.0 / (1.0 + np.exp(-logits)))


def _embeddings(embed: Embed | None, found: Sequence[Example]) -> dict[str, Vectors]:
    assert embed is not None
    texts = list(dict.fromkeys(e.text for e in found))
    return dict(zip(texts, embed(texts), strict=True))
