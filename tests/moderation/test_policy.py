import pytest
from pydantic import ValidationError

from services.common.contract import Verdict
from services.moderation.policy import Band, Policy, decide

POLICY = Policy(thresholds={"toxicity": Band(review=0.5, reject=0.9)}, relevance_floor=0.2)


def test_clean_on_topic_comment_is_approved_without_reasons() -> None:
    assert decide(POLICY, {"toxicity": 0.1}, 0.6) == (Verdict.APPROVED, [])


@pytest.mark.parametrize(
    ("score", "verdict", "threshold"),
    [(0.5, Verdict.REVIEW, 0.5), (0.89, Verdict.REVIEW, 0.5), (0.9, Verdict.REJECTED, 0.9)],
)
def test_toxicity_band_decides_with_label_score_and_threshold(
    score: float, verdict: Verdict, threshold: float
) -> None:
    found, reasons = decide(POLICY, {"toxicity": score}, 0.6)
    assert found is verdict
    assert [(r.code, r.label, r.score, r.threshold) for r in reasons] == [
        ("toxicity", "toxicity", score, threshold)
    ]


def test_off_topic_is_held_never_rejected() -> None:
    verdict, reasons = decide(POLICY, {"toxicity": 0.0}, -0.3)
    assert verdict is Verdict.REVIEW
    assert reasons[0].code == "off_topic"
    assert reasons[0].label == "relevance"


def test_unknown_relevance_is_not_penalised() -> None:
    assert decide(POLICY, {"toxicity": 0.0}, None) == (Verdict.APPROVED, [])


def test_strictest_rule_comes_first_and_every_rule_is_a_reason() -> None:
    verdict, reasons = decide(POLICY, {"toxicity": 0.95}, 0.0)
    assert verdict is Verdict.REJECTED
    assert [r.code for r in reasons] == ["toxicity", "off_topic"]


def test_band_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="review threshold"):
        Band(review=0.9, reject=0.5)
