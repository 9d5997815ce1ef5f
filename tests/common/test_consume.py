"""Dead letters are counted by a reason from a small fixed set, each sent by one group."""

import json
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from services.common.consume import DeadLetterReason, decode_records, owns_dead_letters
from services.common.contract import CommentSubmitted, ConsumerGroup, Topic
from services.common.settings import KafkaSettings
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


@pytest.mark.parametrize("namespace", ["", "staging."])
def test_one_group_owns_the_dead_letters_of_comments_moderated(namespace: str) -> None:
    kafka = KafkaSettings(namespace=namespace)
    topic = kafka.topic(Topic.COMMENTS_MODERATED)
    assert owns_dead_letters(topic, kafka.group(ConsumerGroup.PUBLISHER))
    assert not owns_dead_letters(topic, kafka.group(ConsumerGroup.WEBHOOKS_VERDICTS))
    assert not owns_dead_letters(topic, f"other.{ConsumerGroup.PUBLISHER}")


def test_a_topic_without_a_dead_letter_owner_is_refused() -> None:
    with pytest.raises(ValueError, match=r"comments\.dlq"):
        owns_dead_letters(Topic.COMMENTS_DLQ, ConsumerGroup.PUBLISHER)
