"""The benchmark's comments: news-length texts (texts.py) over several articles (the demo
articles and a few generated ones), drawn so that no two streams share a text."""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.modctl.bench.texts import news_length_mix, news_sources
from services.modctl.seed import parse_seed

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo"
TOPICS = (
    ("Regional rail fares rise 6% in March", "rail fares, commuters, the transport budget"),
    ("Hospital waiting lists grow for a third year", "the health service, nurses, waiting lists"),
    ("New housing plan for the harbour district", "housing, rents, the harbour, zoning"),
    ("Local club reaches the cup final", "football, the final, supporters, tickets"),
)


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    body: str


@dataclass(frozen=True)
class Comment:
    comment_id: str
    article_id: str
    author: str
    body: str


def load_articles(demo: Path = DEMO) -> list[Article]:
    """The demo articles as they are, plus generated ones so comments spread over more pages."""
    found = []
    for path in sorted(demo.glob("*.txt")):
        seed = parse_seed(path.read_text(encoding="utf-8"))
        found.append(Article(seed.article_id, seed.title, "\n".join(seed.paragraphs)))
    for i, (title, subject) in enumerate(TOPICS):
        paragraphs = [
            f"{title}. Readers and officials disagree about {subject}.",
            f"The decision on {subject} follows months of public hearings.",
            "A final vote is expected next month; the council invites written comments.",
        ]
        found.append(Article(f"generated-{i}", title, "\n".join(paragraphs)))
    return found


def load_texts(data: Path, wanted: int, seed: int = 7) -> list[str]:
    """Unique news-length texts from the development data, shuffled; raises if there are not
    enough."""
    return news_length_mix(news_sources(data), wanted, seed)


class Corpus:
    """Hands out texts never used before in this run, so the score cache only hits on purpose."""

    def __init__(self, texts: list[str], articles: list[Article], seed: int = 7) -> None:
        self._texts: Iterator[str] = iter(texts)
        self.articles = articles
        self._rng = random.Random(seed)

    def take(self, count: int) -> list[str]:
        taken = [t for _, t in zip(range(count), self._texts, strict=False)]
        if len(taken) < count:
            raise ValueError("the corpus ran out of unique texts: pass fewer comments")
        return taken

    def stream(self, prefix: str, count: int, repeat_share: float = 0.0) -> list[Comment]:
        """`count` comments; a `repeat_share` of them copy a text posted earlier in the stream
        (by another author, as in a copy-paste wave)."""
        repeats = round(count * repeat_share)
        texts = self.take(count - repeats)
        bodies = list(texts)
        for _ in range(repeats):
            bodies.insert(self._rng.randrange(1, len(bodies) + 1), "")
        seen: list[str] = []
        comments = []
        for i, body in enumerate(bodies):
            text = body or self._rng.choice(seen)
            if body:
                seen.append(body)
            article = self.articles[i % len(self.articles)]
            author = f"reader-{self._rng.randrange(400)}"
            comments.append(Comment(f"{prefix}-{i:06d}", article.article_id, author, text))
        return comments
