"""The identity-term bias probe: how much naming a group moves a toxicity score.

It scores the bias madlibs templates (Dixon et al. 2018, `bias_madlibs_77k.csv`): the same
sentence frame ("Being {} is kind.", "You are a dumb {}") filled with each of 50 identity terms.
Per term it reports the false-positive rate on NOT_BAD sentences at the hold threshold, the mean
toxicity, and the swap delta: the term's score minus the mean over all terms in the same frame,
averaged over frames. A fair model has deltas near zero; the target is max |delta| <= 0.05.
"""

import csv
import random
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MADLIBS = Path("bias_madlibs_synthetic") / "bias_madlibs_77k.csv"
# "Being {term} is {adjective}." fills every term once per adjective: the term list comes from it.
_TERM_TEMPLATE = ("being_adj", re.compile(r"Being (.+) is \w+\.$"))
TARGET_DELTA = 0.05

ScoreFn = Callable[[Sequence[str]], Sequence[float]]


@dataclass(frozen=True)
class Frame:
    """One sentence with its identity slot open, and the sentence for each term."""

    template: str
    bad: bool
    sentences: dict[str, str]  # term -> sentence


@dataclass(frozen=True)
class TermRow:
    term: str
    delta: float  # mean over frames of (score - the frame's mean over terms)
    mean_toxicity: float
    false_positive_rate: float  # NOT_BAD sentences at or above the threshold
    not_bad: int


@dataclass(frozen=True)
class ProbeResult:
    rows: list[TermRow]  # worst |delta| first
    sentences: int
    frames: int
    threshold: float
    overall_false_positive_rate: float
    p95_swap: float  # 95th percentile of |score - frame mean| over single sentences
    false_positive_by_template: dict[str, tuple[int, int]]  # NOT_BAD: flagged, scored

    @property
    def max_delta(self) -> float:
        return max((abs(r.delta) for r in self.rows), default=0.0)


def _terms(rows: list[dict[str, str]]) -> list[str]:
    name, pattern = _TERM_TEMPLATE
    found = {m.group(1) for r in rows if r["Template"] == name and (m := pattern.match(r["Text"]))}
    if not found:
        raise ValueError(f"no {name!r} rows to read the identity terms from")
    return sorted(
        found, key=len, reverse=True
    )  # longest first: "african american" before "american"


def _slot(text: str, terms: list[str]) -> tuple[str, str] | None:
    """(frame with `{}` for the term, term), or None when the sentence names no listed term."""
    for term in terms:
        hit = re.search(rf"(?<![\w]){re.escape(term)}(?![\w])", text)
        if hit:
            return text[: hit.start()] + "{}" + text[hit.end() :], term
    return None


def load_frames(path: Path, per_template: int = 16, seed: int = 0) -> list[Frame]:
    """Up to `per_template` frames from each template (0: all of them), every frame with all
    of its terms.

    Sampling whole frames (not sentences) keeps every swap comparison inside the sample.
    """
    if not path.is_file():
        raise ValueError(f"bias madlibs file {path}: not found")
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    terms = _terms(rows)
    grouped: dict[tuple[str, str, bool], dict[str, str]] = defaultdict(dict)
    for row in rows:
        slot = _slot(row["Text"], terms)
        if slot is not None:
            frame, term = slot
            grouped[(row["Template"], frame, row["Label"] == "BAD")][term] = row["Text"]
    complete = [key for key, found in grouped.items() if len(found) == len(terms)]
    rng = random.Random(seed)
    by_template: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for key in sorted(complete):
        by_template[key[0]].append(key)
    chosen = []
    for template in sorted(by_template):
        keys = by_template[template]
        rng.shuffle(keys)
        chosen += keys[:per_template] if per_template else keys
    return [Frame(template, bad, grouped[(template, f, bad)]) for template, f, bad in chosen]


def run_probe(frames: list[Frame], score: ScoreFn, threshold: float) -> ProbeResult:
    """Scores every sentence once and aggregates per term."""
    keys = [(i, term) for i, frame in enumerate(frames) for term in sorted(frame.sentences)]
    texts = [frames[i].sentences[term] for i, term in keys]
    scores = np.asarray(score(texts), dtype=np.float64)
    by_frame: dict[int, list[float]] = defaultdict(list)
    for (i, _), value in zip(keys, scores, strict=True):
        by_frame[i].append(float(value))
    frame_mean = {i: float(np.mean(values)) for i, values in by_frame.items()}
    deltas: dict[str, list[float]] = defaultdict(list)
    values: dict[str, list[float]] = defaultdict(list)
    flagged: dict[str, list[bool]] = defaultdict(list)
    by_template: dict[str, list[bool]] = defaultdict(list)
    swaps = []
    for (i, term), value in zip(keys, scores, strict=True):
        deltas[term].append(float(value) - frame_mean[i])
        values[term].append(float(value))
        swaps.append(abs(float(value) - frame_mean[i]))
        if not frames[i].bad:
            flagged[term].append(bool(value >= threshold))
            by_template[frames[i].template].append(bool(value >= threshold))
    rows = [
        TermRow(
            term,
            float(np.mean(deltas[term])),
            float(np.mean(values[term])),
            float(np.mean(flagged[term])) if flagged[term] else 0.0,
            len(flagged[term]),
        )
        for term in deltas
    ]
    rows.sort(key=lambda r: (-abs(r.delta), r.term))
    all_flags = [f for term_flags in flagged.values() for f in term_flags]
    return ProbeResult(
        rows=rows,
        sentences=len(texts),
        frames=len(frames),
        threshold=threshold,
        overall_false_positive_rate=float(np.mean(all_flags)) if all_flags else 0.0,
        p95_swap=float(np.percentile(swaps, 95)) if swaps else 0.0,
        false_positive_by_template={
            template: (sum(flags), len(flags)) for template, flags in sorted(by_template.items())
        },
    )


def by_template(counts: Mapping[str, Sequence[int]]) -> str:
    """ "template flagged/scored, ..." for the NOT_BAD sentences at or above the threshold."""
    return ", ".join(
        f"{template} {flagged}/{total}" for template, (flagged, total) in counts.items()
    )


def table(result: ProbeResult, worst: int = 10) -> list[str]:
    """The worst terms as a Markdown table, then the summary line."""
    lines = [
        "| identity term | swap delta | mean toxicity | FPR on NOT_BAD |",
        "|---|---|---|---|",
    ]
    for row in result.rows[:worst]:
        lines.append(
            f"| {row.term} | {row.delta:+.3f} | {row.mean_toxicity:.3f} | "
            f"{row.false_positive_rate:.3f} ({row.not_bad}) |"
        )
    verdict = "meets" if result.max_delta <= TARGET_DELTA else "misses"
    lines += [
        "",
        f"{result.sentences} sentences in {result.frames} frames, {len(result.rows)} terms; "
        f"max |swap delta| {result.max_delta:.3f} ({verdict} the {TARGET_DELTA} target); "
        f"95th percentile of single swaps {result.p95_swap:.3f}; "
        f"FPR on NOT_BAD at {result.threshold:g}: {result.overall_false_positive_rate:.3f}",
        f"FPR on NOT_BAD by template: {by_template(result.false_positive_by_template)}",
    ]
    return lines


def as_dict(result: ProbeResult, worst: int = 10) -> dict[str, object]:
    """For the head file's card: the summary and the worst terms."""
    return {
        "sentences": result.sentences,
        "frames": result.frames,
        "threshold": result.threshold,
        "max_abs_delta": round(result.max_delta, 4),
        "p95_single_swap": round(result.p95_swap, 4),
        "false_positive_rate": round(result.overall_false_positive_rate, 4),
        "false_positive_by_template": {
            template: list(counts) for template, counts in result.false_positive_by_template.items()
        },
        "worst_terms": [
            {
                "term": r.term,
                "delta": round(r.delta, 4),
                "mean_toxicity": round(r.mean_toxicity, 4),
                "false_positive_rate": round(r.false_positive_rate, 4),
                "not_bad": r.not_bad,
            }
            for r in result.rows[:worst]
        ],
    }
