"""Whether a moderator's verdict went against the machine's, and which of its reasons."""

from services.common.contract import Reason, Verdict
from services.publisher.desk.decisions import machine_reason_overruled
from tests.conftest import unique
from tests.publisher.test_views import verdict

MODERATOR = Reason(code="moderator", label="violence")
TOXIC = Reason(code="toxicity", label="toxicity", score=0.7, threshold=0.58)


def test_approving_what_the_machine_held_overrules_its_decisive_reason() -> None:
    event = verdict(unique("tenant"), "a-1", Verdict.APPROVED, decided_by="ann")
    held_for = [Reason(code="off_topic", label="relevance"), TOXIC]
    assert (
        machine_reason_overruled(event.model_copy(update={"reasons": [MODERATOR, *held_for]}))
        == "off_topic"
    )


def test_rejecting_what_the_machine_held_agrees_and_rejecting_what_it_approved_does_not() -> None:
    event = verdict(unique("tenant"), "a-1", Verdict.REJECTED, decided_by="ann")
    assert (
        machine_reason_overruled(event.model_copy(update={"reasons": [MODERATOR, TOXIC]})) is None
    )
    assert machine_reason_overruled(event.model_copy(update={"reasons": [MODERATOR]})) == "none"


def test_approving_what_the_machine_approved_agrees() -> None:
    event = verdict(unique("tenant"), "a-1", Verdict.APPROVED, decided_by="ann")
    assert machine_reason_overruled(event.model_copy(update={"reasons": [MODERATOR]})) is None
