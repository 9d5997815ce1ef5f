"""`modctl seed`: an article-with-comments text file, loaded through the ingest API.

The format: a title line, the article's paragraphs, a line `N Comments`, then for each comment
an author line and the comment in quotes. Ids are derived from the content, so loading the same
file twice moderates and releases each comment once.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

_COMMENTS_HEADER = re.compile(r"^\d+\s+comments?$", re.IGNORECASE)
# Quotes around a comment: straight, curly double, curly single or angle quotes.
_OPENING = "\"'\u201c\u2018\u00ab"
_CLOSING = "\"'\u201d\u2019\u00bb"


@dataclass(frozen=True)
class SeedComment:
    author: str
    body: str


@dataclass(frozen=True)
class SeedArticle:
    article_id: str
    title: str
    paragraphs: list[str]
    comments: list[SeedComment]


def slug(text: str, words: int = 6) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower().replace(".", ""))
    return "-".join(parts[:words]) or "article"


def unquote(line: str) -> str:
    if len(line) >= 2 and line[0] in _OPENING and line[-1] in _CLOSING:
        return line[1:-1].strip()
    return line


def parse_seed(text: str) -> SeedArticle:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty file: expected a title line")
    header = next((i for i, line in enumerate(lines) if _COMMENTS_HEADER.match(line)), None)
    if header is None:
        raise ValueError("no 'N Comments' line separating the article from its comments")
    rest = lines[header + 1 :]
    if len(rest) % 2:
        raise ValueError("comments must come as pairs of an author line and a quoted comment")
    comments = [
        SeedComment(author=rest[i], body=unquote(rest[i + 1])) for i in range(0, len(rest), 2)
    ]
    return SeedArticle(slug(lines[0]), lines[0], lines[1:header], comments)


def comment_id(article_id: str, comment: SeedComment) -> str:
    digest = hashlib.sha256(f"{article_id}\n{comment.author}\n{comment.body}".encode()).hexdigest()
    return f"seed-{digest[:20]}"


def load_seed(path: Path, ingest_url: str, key: str) -> SeedArticle:
    """PUT the article, then POST its comments as one batch, with a key of the tenant (which
    needs the `ingest` scope); raises on any refusal."""
    article = parse_seed(path.read_text(encoding="utf-8"))
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=ingest_url, headers=headers, timeout=30.0) as client:
        response = client.put(
            f"/v1/articles/{article.article_id}",
            json={"title": article.title, "body": "\n".join(article.paragraphs)},
        )
        response.raise_for_status()
        batch = [
            {
                "article_id": article.article_id,
                "comment_id": comment_id(article.article_id, c),
                "author": {"id": slug(c.author), "display_name": c.author},
                "body": c.body,
            }
            for c in article.comments
        ]
        client.post("/v1/comments", json={"comments": batch}).raise_for_status()
    return article
