import pytest
from pydantic import ValidationError

from services.common import redis_keys
from services.common.contract import CommentSubmitted, ConsumerGroup, Topic, message_key
from services.common.settings import KafkaSettings

PAYLOAD = {
    "tenant_id": "t",
    "article_id": "a",
    "comment_id": "c-1",
    "author": {"id": "u", "display_name": "U"},
    "body": "hello",
}


def test_events_about_one_comment_share_a_key() -> None:
    assert message_key(CommentSubmitted.model_validate(PAYLOAD)) == b"c-1"


def test_unknown_schema_version_is_refused() -> None:
    with pytest.raises(ValidationError, match="schema_version"):
        CommentSubmitted.model_validate({**PAYLOAD, "schema_version": 2})


def test_fields_from_newer_producers_are_ignored() -> None:
    assert CommentSubmitted.model_validate({**PAYLOAD, "mood": "sunny"}).body == "hello"


def test_text_hash_ignores_case_width_and_spacing() -> None:
    assert redis_keys.text_hash("Buy  NOW\n") == redis_keys.text_hash("buy now")
    assert redis_keys.text_hash(
        "\uff42\uff55\uff59 now"
    )  # full-width "buy" == redis_keys.text_hash("buy now")
    assert redis_keys.text_hash("buy now") != redis_keys.text_hash("buy later")


def test_namespace_prefixes_topics_and_groups() -> None:
    settings = KafkaSettings(namespace="staging.")
    assert settings.topic(Topic.COMMENTS_SUBMITTED) == "staging.comments.submitted"
    assert settings.group(ConsumerGroup.MODERATION) == "staging.moderation"


def test_several_bootstrap_servers_are_split_for_the_clients() -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1, 127.0.0.1:2,127.0.0.1:3")
    assert settings.servers() == ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
