"""Dead letters are counted by a reason from a small fixed set."""

import json
from dataclasses import dataclass

from prometheus_client import REGISTRY

from services.common.consume import DeadLetterReason, decode_records
from services.common.contract import CommentSubmitted
from tests.conftest import make_comment

GOOD = json.loads(make_comment("t", "a", "hello").model_dump_json())


@dataclass
class FakeRecord:
    value: bytes | None
    topic: str = "comments.submitted"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


def test_each_refused_record_gets_its_reason() -> None:
    records = (
        FakeRecord(b"\x00not json"),
        FakeRecord(json.dumps({**GOOD, "body": 5}).encode()),
        FakeRecord(json.dumps({**GOOD, "schema_version": 2}).encode()),
        FakeRecord(json.dumps({"schema_version": 2}).encode()),
        FakeRecord(json.dumps(GOOD).encode()),
    )
    events, poison = decode_records(records, CommentSubmitted)
    assert [e.comment_id for _, e in events] == [GOOD["comment_id"]]
    assert [p.reason for p in poison] == [
        DeadLetterReason.INVALID_JSON,
        DeadLetterReason.INVALID_EVENT,
        DeadLetterReason.UNKNOWN_SCHEMA,
        DeadLetterReason.UNKNOWN_SCHEMA,
    ]


def test_every_reason_is_reported_before_the_first_dead_letter() -> None:
    for reason in DeadLetterReason:
        value = REGISTRY.get_sample_value("dlq_messages_total", {"reason": reason.value})
        assert value is not None
