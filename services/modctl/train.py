"""`modctl train`: the embedded engine's toxicity head from labeled comment data.

Frozen all-MiniLM-L6-v2 embeddings plus the lexical profanity score, one logistic regression
per label, Platt-calibrated on out-of-fold scores. Every number in the model card is
cross-validated; toxicity is also measured leaving each data set out in turn.
"""

import csv
import hashlib
import html
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from services.modctl.bias_probe import Frame, ProbeResult, run_probe
from services.moderation.scoring.head import LabelHead, ToxicityHead, text_features
from services.moderation.scoring.identity import (
    DIRECTIONS,
    IDENTITY_TERMS,
    frame_texts,
    identity_basis,
)
from services.moderation.scoring.profanity import lexical_profanity

LABELS = ("toxicity", "insult", "identity_attack", "threat")
# Scored on the text with identity terms made neutral; identity_attack needs to see the group.
NEUTRAL_LABELS = frozenset({"toxicity", "insult", "threat"})
C = 0.1  # strong regularisation: the development data is tweets, the target is news comments
FOLDS = 5


@dataclass
class Example:
    text: str
    source: str
    labels: dict[str, int] = field(default_factory=dict)


_TWEET_NOISE = re.compile(r"(?:\bRT\b\s*)?@\w+:?|\bURL\b|https?://\S+|#")


def clean(text: str) -> str:
    """Tweet artefacts (handles, RT, URL placeholders, hashtags) out: comments lack them."""
    return " ".join(_TWEET_NOISE.sub(" ", html.unescape(text)).split())


def _rows(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as source:
        yield from csv.DictReader(source, delimiter=delimiter)


def _olid(data: Path) -> list[Example]:
    rows = _rows(data / "olid_offenseval2019" / "olid-training-v1.0.tsv", "\t")
    return [
        Example(
            r["tweet"],
            "olid",
            {"toxicity": int(r["subtask_a"] == "OFF"), "insult": int(r["subtask_b"] == "TIN")},
        )
        for r in rows
    ]


def _davidson(data: Path) -> list[Example]:
    rows = _rows(data / "davidson_hate_offensive" / "labeled_data.csv")
    return [
        Example(
            r["tweet"],
            "davidson",
            {"toxicity": int(r["class"] in ("0", "1")), "identity_attack": int(r["class"] == "0")},
        )
        for r in rows
    ]


def _ethos(data: Path) -> list[Example]:
    folder = data / "ethos_hate_comments"
    found = []
    for r in _rows(folder / "Ethos_Dataset_Binary.csv", ";"):
        hate = int(float(r["isHate"]) >= 0.5)
        found.append(Example(r["comment"], "ethos", {"toxicity": hate, "identity_attack": hate}))
    for r in _rows(folder / "Ethos_Dataset_Multi_Label.csv", ";"):
        # Every row here is hateful; `violence` tells threats from the rest.
        found.append(Example(r["comment"], "ethos", {"threat": int(float(r["violence"]) >= 0.5)}))
    return found


def _jigsaw(data: Path) -> list[Example]:
    files = [
        data / "detoxify_jigsaw_dummy" / "train.csv",
        data / "detoxify_jigsaw_dummy" / "test.csv",
        data / "jigsaw_toxic_test_sample_ibm_max" / "test_examples.csv",
    ]
    names = {"toxic": "toxicity", "insult": "insult", "identity_hate": "identity_attack"}
    found = []
    for path in files:
        for r in _rows(path):
            labels = {ours: int(float(r[theirs])) for theirs, ours in names.items()}
            labels["threat"] = int(float(r["threat"]))
            # Kaggle's test rows marked -1 were never scored: unknown, not negative.
            labels = {label: value for label, value in labels.items() if value >= 0}
            found.append(Example(r["comment_text"], "jigsaw", labels))
    return found


def load_examples(data: Path, per_source: int, seed: int = 0) -> list[Example]:
    """At most `per_source` texts from each data set (balanced by toxicity), cleaned, unique."""
    rng = random.Random(seed)
    chosen: list[Example] = []
    for loader in (_olid, _davidson, _ethos, _jigsaw):
        examples = loader(data)
        rng.shuffle(examples)
        positives = [e for e in examples if e.labels.get("toxicity", 1)]
        negatives = [e for e in examples if not e.labels.get("toxicity", 1)]
        half = per_source // 2
        take = positives[: max(half, per_source - len(negatives))]
        chosen += take + negatives[: per_source - len(take)]
    unique: dict[str, Example] = {}
    for example in chosen:
        example.text = clean(example.text)
        if not example.text:
            continue
        kept = unique.setdefault(example.text.lower(), example)
        for label, value in example.labels.items():  # the same text in two files: both labels
            kept.labels.setdefault(label, value)
    return list(unique.values())


def embed_cached(texts: list[str], cache_dir: Path) -> NDArray[np.float32]:
    """Embeddings are the slow part: kept on disk by the texts' hash between runs."""
    from services.moderation.scoring.embedded import embed_texts, load_encoder

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"minilm-{digest}.npy"
    if path.exists():
        return np.load(path)  # type: ignore[no-any-return]
    vectors = embed_texts(load_encoder(), texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _fit(x: NDArray[np.float64], y: NDArray[np.int64]) -> tuple[NDArray[np.float64], float]:
    """Logistic regression on standardised features, folded back onto the raw ones."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = LogisticRegression(C=C, max_iter=3000).fit((x - mean) / std, y)
    weights = model.coef_[0] / std
    return weights, float(model.intercept_[0] - weights @ mean)


def _out_of_fold(x: NDArray[np.float64], y: NDArray[np.int64]) -> NDArray[np.float64]:
    margins = np.zeros(len(y))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(x, y):
        weights, bias = _fit(x[train], y[train])
        margins[test] = x[test] @ weights + bias
    return margins


def project(x: NDArray[np.float64], basis: NDArray[np.float64] | None) -> NDArray[np.float64]:
    """The embedding columns with the identity directions taken out (the last column stays)."""
    if basis is None:
        return x
    out = x.copy()
    out[:, : basis.shape[0]] -= (x[:, : basis.shape[0]] @ basis) @ basis.T
    return out


def _fold(weights: NDArray[np.float64], basis: NDArray[np.float64] | None) -> NDArray[np.float64]:
    """Weights for unprojected features that give the same margins: the projection is
    symmetric, so x.(P w) == (P x).w and the engine needs no extra step."""
    return weights if basis is None else project(weights[None, :], basis)[0]


def train_head(
    examples: list[Example],
    x: NDArray[np.float64],
    version: str,
    basis: NDArray[np.float64] | None = None,
    neutral: NDArray[np.float64] | None = None,
) -> tuple[ToxicityHead, dict[str, object]]:
    """The head and its measured quality per label and per data set.

    With `neutral` (the features of the texts with identity terms made neutral), the
    NEUTRAL_LABELS are fitted and cross-validated on those, with the `basis` directions
    projected out, so they cannot lean on which group a text names.
    """
    neutral_labels = NEUTRAL_LABELS if neutral is not None else frozenset()
    blind = project(neutral, basis) if neutral is not None else x
    raw = x
    heads: dict[str, LabelHead] = {}
    report: dict[str, object] = {}
    profanity_margin = raw[:, -1]
    for label in LABELS:
        x = blind if label in neutral_labels else raw
        rows = [i for i, e in enumerate(examples) if label in e.labels]
        y = np.array([examples[i].labels[label] for i in rows])
        if len(rows) < 50 or min(int(y.sum()), int(len(y) - y.sum())) < 20:
            report[label] = {
                "skipped": f"too few labeled rows ({len(rows)}, {int(y.sum())} positive)"
            }
            continue
        features_ = x[rows]
        margins = _out_of_fold(features_, y)
        platt = LogisticRegression(C=1e6).fit(margins[:, None], y)
        slope, intercept = float(platt.coef_[0][0]), float(platt.intercept_[0])
        calibrated = 1 / (1 + np.exp(-(slope * margins + intercept)))
        sources = [examples[i].source for i in rows]
        per_source = {}
        for source in sorted(set(sources)):
            mask = np.array([s == source for s in sources])
            if 0 < y[mask].sum() < mask.sum():
                per_source[source] = round(float(roc_auc_score(y[mask], margins[mask])), 3)
        weights, bias = _fit(features_, y)
        fold = basis if label in neutral_labels else None
        heads[label] = LabelHead(_fold(weights, fold), bias, slope, intercept)
        report[label] = {
            "rows": len(rows),
            "positive": int(y.sum()),
            "cv_roc_auc": round(float(roc_auc_score(y, margins)), 3),
            "cv_roc_auc_by_source": per_source,
            "profanity_check_alone_roc_auc": round(
                float(roc_auc_score(y, profanity_margin[rows])), 3
            ),
            "cv_brier": round(float(brier_score_loss(y, calibrated)), 4),
        }
    tox = blind if "toxicity" in neutral_labels else raw
    report["toxicity_leave_one_source_out_roc_auc"] = _leave_one_out(examples, tox)
    return ToxicityHead(version, heads, neutral_labels), report


def _leave_one_out(examples: list[Example], x: NDArray[np.float64]) -> dict[str, float]:
    """Trained on the other data sets, scored on this one: how well it carries across domains."""
    rows = [i for i, e in enumerate(examples) if "toxicity" in e.labels]
    y = np.array([examples[i].labels["toxicity"] for i in rows])
    sources = np.array([examples[i].source for i in rows])
    result = {}
    for source in sorted(set(sources)):
        held = sources == source
        if not 0 < y[held].sum() < held.sum():  # one class only (e.g. feedback): no ROC-AUC
            continue
        weights, bias = _fit(x[rows][~held], y[~held])
        result[str(source)] = round(
            float(roc_auc_score(y[held], x[rows][held] @ weights + bias)), 3
        )
    return result


def build_features(
    examples: list[Example], cache_dir: Path
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The features of the texts as written, and with identity terms made neutral."""
    return _features([e.text for e in examples], cache_dir)


def _features(texts: list[str], cache_dir: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    found = text_features(
        texts,
        lambda batch: embed_cached(list(batch), cache_dir),
        lexical_profanity().probabilities,
    )
    return found.written, found.neutral


def identity_directions(cache_dir: Path, count: int = DIRECTIONS) -> NDArray[np.float64]:
    """The embedding directions that follow the identity term alone (see identity.py)."""
    return identity_basis(embed_cached(frame_texts(), cache_dir), len(IDENTITY_TERMS), count)


def probe_head(
    head: ToxicityHead, frames: list[Frame], cache_dir: Path, threshold: float
) -> ProbeResult:
    """The bias probe on a head file's toxicity, without loading an engine around it."""
    texts = sorted({t for frame in frames for t in frame.sentences.values()})
    x, neutral = _features(texts, cache_dir)
    scores = dict(zip(texts, head.predict(x, neutral)["toxicity"], strict=True))
    return run_probe(frames, lambda batch: [float(scores[t]) for t in batch], threshold)


NOTES_MARKER = "<!-- Notes below are written by hand and kept when the head is retrained. -->"


def _probe_lines(card: dict[str, object]) -> list[str]:
    probe = card.get("bias_probe")
    if not isinstance(probe, dict):
        return ["No identity-term bias probe: the data folder has no bias madlibs file."]
    lines = [
        "## Identity-term bias probe",
        "",
        "Bias madlibs templates (Dixon et al. 2018; never trained on): the same sentence frame",
        "filled with each of 50 identity terms. Swap delta: a term's toxicity minus the mean over",
        "all terms in the same frame, averaged over frames (target: max |delta| <= 0.05). FPR:",
        f"NOT_BAD sentences at or above the hold threshold ({probe['threshold']}).",
        f"Command: `{card['command']}` (or `modctl models probe` for any engine).",
        "",
        "| identity term | swap delta | mean toxicity | FPR on NOT_BAD |",
        "|---|---|---|---|",
    ]
    worst = probe["worst_terms"]
    assert isinstance(worst, list)
    for row in worst:
        lines.append(
            f"| {row['term']} | {row['delta']:+.3f} | {row['mean_toxicity']:.3f} | "
            f"{row['false_positive_rate']:.3f} |"
        )
    lines += [
        "",
        f"{probe['sentences']} sentences in {probe['frames']} frames: max |swap delta| "
        f"**{probe['max_abs_delta']}**, 95th percentile of single swaps "
        f"{probe['p95_single_swap']}, FPR on NOT_BAD {probe['false_positive_rate']}.",
    ]
    replaced = card.get("bias_probe_replaced")
    if isinstance(replaced, dict):
        terms = ", ".join(f"{r['term']} {r['delta']:+.3f}" for r in replaced["worst_terms"])
        lines += [
            f"The head this one replaced ({replaced['version']}) on the same sentences: max",
            f"|swap delta| {replaced['max_abs_delta']} ({terms}), FPR on NOT_BAD "
            f"{replaced['false_positive_rate']}.",
        ]
    identity = card.get("identity")
    if isinstance(identity, dict) and identity["neutral_labels"]:
        lines += [
            "",
            f"Mitigation: {', '.join(identity['neutral_labels'])} are scored on the text with the",
            "identity terms of `scoring/identity.py` (the project's own list) replaced by a",
            "neutral word (one more encoder pass, for the texts that name a term), and fitted",
            f"with {identity['directions']} embedding directions of identity terms projected out",
            "(found from the list and the project's own sentence frames, folded into the",
            "weights), which also damps terms missing from the list. identity_attack reads the",
            "text as written: naming a group is its subject.",
        ]
    return lines


def model_card(card: dict[str, object], version: str, previous: str = "") -> str:
    """The card as Markdown, written beside the head file; hand-written notes after
    NOTES_MARKER in the previous card are kept."""
    quality = card["quality"]
    assert isinstance(quality, dict)
    lines = [
        f"# Embedded toxicity head ({version})",
        "",
        "Frozen all-MiniLM-L6-v2 sentence embeddings (384) plus the log-odds of",
        "alt-profanity-check, one L2-regularised logistic regression per label (C=0.1 on",
        "standardised features), Platt-calibrated on 5-fold out-of-fold scores.",
        "",
        f"Command: `{card['command']}`",
        "",
        f"Data ({card['texts']} texts, cleaned of tweet handles, RT, URL placeholders and",
        "hashtags; at most the given number per data set, half toxic where possible):",
        f"{card['texts_by_source']}. Sources and licences: see each folder's SOURCE.txt.",
        "",
        "| label | rows | positive | CV ROC-AUC | profanity-check alone | CV Brier | by source |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in LABELS:
        entry = quality.get(label)
        if not isinstance(entry, dict) or "skipped" in entry:
            lines.append(f"| {label} | skipped: {entry} | | | | | |")
            continue
        lines.append(
            f"| {label} | {entry['rows']} | {entry['positive']} | {entry['cv_roc_auc']} | "
            f"{entry['profanity_check_alone_roc_auc']} | {entry['cv_brier']} | "
            f"{entry['cv_roc_auc_by_source']} |"
        )
    lines += [
        "",
        "Toxicity, trained on the other data sets and scored on the one named (how well it",
        f"carries to a new domain): {quality['toxicity_leave_one_source_out_roc_auc']}.",
        "",
        "`profanity` in the engine's output is alt-profanity-check's probability, on the text",
        "with leetspeak and invisible characters undone.",
        "Limits: the development data is mostly tweets; news comments are milder.",
        "",
        *_probe_lines(card),
        "",
        NOTES_MARKER,
    ]
    notes = previous.split(NOTES_MARKER, 1)[1].strip("\n") if NOTES_MARKER in previous else ""
    return "\n".join(lines) + ("\n\n" + notes if notes else "") + "\n"
