"""The publisher's own metrics."""

from prometheus_client import Counter, Gauge, Histogram

from services.common.contract import Verdict
from services.publisher.views import Outcome

RELEASE_SECONDS = Histogram(
    "comment_release_seconds",
    "From submission to the article feed.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OUTCOMES = Counter(
    "publisher_verdicts_applied_total",
    "Verdicts applied to the views, by outcome (released, held, rejected, duplicate, stale).",
    ["outcome"],
)
REVIEW_QUEUE_DEPTH = Gauge("review_queue_depth", "Comments waiting for a moderator.", ["tenant"])
# A timestamp, not an age: Prometheus computes the age (time() - ...), so it stays right
# between refreshes. Absent for a tenant whose queue is empty.
REVIEW_QUEUE_OLDEST = Gauge(
    "review_queue_oldest_timestamp_seconds",
    "Submission time of the oldest comment waiting for a moderator (Unix time).",
    ["tenant"],
)
MODERATOR_VERDICTS = Counter(
    "moderator_verdicts_total",
    "Moderators' verdicts applied to the views, by verdict.",
    ["verdict"],
)
HUMAN_DECISIONS = Counter(
    "moderation_human_decisions_total",
    "Moderators' verdicts applied to the views, by tenant: the base of the overrule rate.",
    ["tenant"],
)
HUMAN_OVERRULES = Counter(
    "moderation_human_overrule_total",
    "Moderators' verdicts against the machine's (approving what it held or rejected, or "
    "rejecting what it approved), by tenant and the machine's decisive reason (none: it "
    "approved).",
    ["tenant", "reason"],
)

MACHINE_VERDICTS = Counter(
    "moderation_machine_verdicts_total",
    "Comments the machine decided, by tenant and verdict (a comment counted once a day): the "
    "held share is the review verdicts' part of them.",
    ["tenant", "verdict"],
)
HELD_WAIT_SECONDS = Histogram(
    "moderation_held_wait_seconds",
    "From the machine holding a comment to a moderator's verdict on it, by tenant.",
    ["tenant"],
    buckets=(60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 7 * 86400),
)

# Every outcome and moderator verdict from 0, so the first one after a start shows as a rise.
for _outcome in Outcome:
    OUTCOMES.labels(outcome=_outcome)
for _verdict in Verdict:
    MODERATOR_VERDICTS.labels(verdict=_verdict)
DESK_DECISIONS = Counter(
    "desk_decisions_total",
    "Moderator decisions on the desk, by action (approve, reject, undo).",
    ["action"],
)
