"""What platforms send to ingest. Limits live here so every error names the field at fault."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from services.common.contract import Identifier

Language = Annotated[str, StringConstraints(min_length=2, max_length=16, pattern=r"^[A-Za-z-]+$")]


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=1_000)
    body: str = Field(default="", max_length=200_000)
    url: str | None = Field(default=None, max_length=2_000)
    section: str | None = Field(default=None, max_length=200)
    language: Language = "en"
    published_at: datetime | None = None


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Identifier
    display_name: str = Field(min_length=1, max_length=200)
    is_new: bool = False


class CommentIn(BaseModel):
    """`comment_id` makes a retried request safe: the same id is moderated and released once."""

    model_config = ConfigDict(extra="forbid")
    article_id: Identifier
    comment_id: Identifier | None = None
    parent_id: Identifier | None = None
    author: AuthorIn
    # The configured limit (INGEST_MAX_BODY_CHARS) is checked in the route; this is the hard cap.
    body: str = Field(min_length=1, max_length=1_000_000)
    language: Language = "en"


class CommentBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comments: list[CommentIn] = Field(min_length=1)


def _shape(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "comments" in value else "comment"


CommentsRequest = Annotated[
    Annotated[CommentIn, Tag("comment")] | Annotated[CommentBatchIn, Tag("batch")],
    Discriminator(_shape),
]


class Accepted(BaseModel):
    tenant_id: str
    accepted: list[str] = Field(description="comment ids handed to Kafka, in request order")


class ArticleAccepted(BaseModel):
    tenant_id: str
    article_id: str
