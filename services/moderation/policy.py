"""Scores -> verdict with reasons. Pure functions: no I/O, so every rule is easy to test."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.contract import Reason, Verdict
from services.moderation.scoring import LabelScores


class Band(BaseModel):
    """Below `review`: approve; from `review`: hold for a moderator; from `reject`: reject."""

    model_config = ConfigDict(frozen=True)
    review: float = Field(ge=0.0, le=1.0)
    reject: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> "Band":
        if self.review > self.reject:
            raise ValueError("review threshold must not be above the reject threshold")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True)
    thresholds: dict[str, Band] = Field(
        default_factory=lambda: {"toxicity": Band(review=0.5, reject=0.9)}
    )
    # Below this cosine to the article a comment is held, never rejected: being off topic is
    # a moderator's call. Unknown articles have no relevance and are never penalised.
    relevance_floor: float = Field(default=0.2, ge=-1.0, le=1.0)


_SEVERITY = {Verdict.APPROVED: 0, Verdict.REVIEW: 1, Verdict.REJECTED: 2}


def decide(
    policy: Policy, toxicity: LabelScores, relevance: float | None
) -> tuple[Verdict, list[Reason]]:
    """The strictest rule wins; every rule that fired is a reason, the decisive ones first."""
    found: list[tuple[Verdict, Reason]] = []
    for label, band in policy.thresholds.items():
        score = toxicity.get(label)
        if score is None:
            continue
        if score >= band.reject:
            found.append(
                (
                    Verdict.REJECTED,
                    Reason(code="toxicity", label=label, score=score, threshold=band.reject),
                )
            )
        elif score >= band.review:
            found.append(
                (
                    Verdict.REVIEW,
                    Reason(code="toxicity", label=label, score=score, threshold=band.review),
                )
            )
    if relevance is not None and relevance < policy.relevance_floor:
        found.append(
            (
                Verdict.REVIEW,
                Reason(
                    code="off_topic",
                    label="relevance",
                    score=relevance,
                    threshold=policy.relevance_floor,
                ),
            )
        )
    if not found:
        return Verdict.APPROVED, []
    found.sort(key=lambda item: _SEVERITY[item[0]], reverse=True)
    return found[0][0], [reason for _, reason in found]
