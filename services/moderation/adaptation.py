"""A tenant's own layer over the shared model, fitted from its moderators' decisions.

It turns what the shared model computed for a comment (its label scores and, for a head, the
embedding the same pass produced) into one `site` score: the probability that this site's
moderators remove the comment. While it serves, its band on `site` replaces the policy's
per-label thresholds; every other rule of the policy (words, links, relevance, authors,
pre-moderation) applies as before. No second encoder pass: the worker has both inputs.
"""

import math
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.moderation.policy import Band, Policy
from services.moderation.scoring import LabelScores, Vectors

SITE_LABEL = "site"
# Between the shared model's version and the adapter's name in a verdict's `model_version`.
ADAPTER_MARK = "+site:"
# Scores are clipped before their logit is taken, so 0 and 1 stay finite features.
SCORE_CLIP = 1e-4


class AdapterKind(StrEnum):
    CALIBRATION = "calibration"  # one weight per label of the shared model
    HEAD = "head"  # label weights and a weight per embedding dimension


class Adapter(BaseModel):
    """One version of a tenant's layer; `evaluation` holds the figures it was chosen by."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    version: int = Field(ge=1)
    kind: AdapterKind
    engine: str
    base_model: str  # the shared model's version whose outputs it reads
    labels: list[str]  # the shared model's labels, in the order of the first weights
    weights: list[float]  # on logit(score) per label, then on each embedding dimension
    bias: float
    band: Band  # on the site score
    created_at: datetime
    created_by: str
    evaluation: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sized(self) -> "Adapter":
        extra = len(self.weights) - len(self.labels)
        if extra < 0 or (self.kind is AdapterKind.CALIBRATION and extra):
            raise ValueError(f"weights: {len(self.weights)} do not fit {self.kind} over labels")
        return self

    @property
    def name(self) -> str:
        return f"{self.tenant_id}.{self.version}"

    @property
    def served_version(self) -> str:
        """The `model_version` of the verdicts it decides: the shared model's, then its name."""
        return f"{self.base_model}{ADAPTER_MARK}{self.name}"

    def fits(self, engine: str, model_version: str) -> bool:
        return self.engine == engine and self.base_model == model_version

    def score(self, toxicity: LabelScores, embedding: Vectors | None) -> float:
        """P(this site's moderators remove the comment)."""
        features = label_features(toxicity, self.labels)
        if self.kind is AdapterKind.HEAD:
            if embedding is None:
                raise ValueError("a head adapter needs the comment's embedding")
            features = np.concatenate([features, np.asarray(embedding, np.float32).ravel()])
        logit = float(np.dot(np.asarray(self.weights, np.float32), features)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(logit, 30.0), -30.0)))

    def policy(self, policy: Policy) -> Policy:
        """`policy` with its per-label thresholds replaced by the band on the site score."""
        return policy.model_copy(update={"thresholds": {SITE_LABEL: self.band}})


def shared_model(model_version: str) -> str:
    """The shared model's version in a verdict's `model_version`, without any adapter's name."""
    return model_version.split(ADAPTER_MARK)[0]


def label_features(toxicity: LabelScores, labels: list[str]) -> np.ndarray:
    """Per label, in order: toxicity's logit, and every other label's share of toxicity (how
    toxic, and of which kind) as a logit. The embedded engine reads a label as P(toxic) x
    P(label | toxic): the share gives the kind back, which is what sites disagree on. A label
    the scores lack reads as 0.5 (logit 0)."""
    toxic = toxicity.get("toxicity")
    values = []
    for label in labels:
        score = toxicity.get(label, 0.5)
        if label != "toxicity" and toxic is not None and label in toxicity:
            score = min(score / max(toxic, SCORE_CLIP), 1.0)
        values.append(score)
    clipped = np.clip(np.array(values, np.float64), SCORE_CLIP, 1.0 - SCORE_CLIP)
    return np.log(clipped / (1.0 - clipped)).astype(np.float32)
