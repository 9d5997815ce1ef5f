"""Perspective's request bodies (camelCase JSON); fields its clients send that we do not use,
such as `sessionId`, are accepted and ignored."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TextEntry(Model):
    text: str = ""
    type: str = "PLAIN_TEXT"


class Context(Model):
    entries: list[TextEntry] = Field(default_factory=list)


class AttributeParameters(Model):
    score_type: str | None = None
    score_threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class AnalyzeRequest(Model):
    comment: TextEntry
    requested_attributes: dict[str, AttributeParameters] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=list)
    do_not_store: bool = False
    span_annotations: bool = False
    client_token: str | None = None
    context: Context | None = None
    community_id: str | None = None


class ScoreIn(Model):
    value: float = Field(ge=0.0, le=1.0)


class SuggestedAttribute(Model):
    summary_score: ScoreIn


class SuggestRequest(Model):
    comment: TextEntry
    attribute_scores: dict[str, SuggestedAttribute] = Field(min_length=1)
    languages: list[str] = Field(default_factory=list)
    client_token: str | None = None
    community_id: str | None = None
    context: Context | None = None
