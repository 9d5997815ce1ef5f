"""Every Redis key is built here; tenant data is prefixed with the tenant."""

import hashlib
import unicodedata


def text_hash(text: str) -> str:
    """Same text up to case, width and spacing, same hash: a spam wave costs one inference."""
    normalised = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normalised.encode()).hexdigest()


def decision(tenant: str, comment_id: str) -> str:
    return f"decision:{tenant}:{comment_id}"


def score(engine: str, digest: str) -> str:
    return f"score:{engine}:{digest}"


def article(tenant: str, article_id: str) -> str:
    return f"article:{tenant}:{article_id}"


def article_embedding(engine: str, digest: str) -> str:
    return f"embedding:{engine}:{digest}"


def feed(tenant: str, article_id: str) -> str:
    return f"feed:{tenant}:{article_id}"


def comment(tenant: str, comment_id: str) -> str:
    return f"comment:{tenant}:{comment_id}"


def review(tenant: str) -> str:
    return f"review:{tenant}"


REVIEW_PATTERN = "review:*"  # every tenant's review queue, for SCAN


def review_tenant(key: str) -> str:
    """The tenant of a `review:{tenant}` key."""
    return key.removeprefix("review:")
