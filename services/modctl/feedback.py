"""Suggested scores (feedback.suggested, from Perspective's suggestscore) as labelled rows for
`modctl train --feedback`.

A suggestion names Perspective attributes with a 0-1 score; each attribute the head trains
becomes a 0/1 label at `threshold`. When a text was suggested more than once, the latest
suggestion wins, and it overrides the data sets' label for the same text: a site's own
moderators know its comments best.
"""

import asyncio

from pydantic import ValidationError

from services.common.contract import FeedbackSuggested, Topic
from services.common.dlq import reading_consumer, snapshot
from services.common.settings import KafkaSettings
from services.modctl.training_data import LABELS, Example, clean
from services.perspective.attributes import LABEL_ATTRIBUTES

SOURCE = "feedback"
THRESHOLD = 0.5


async def read_feedback(kafka: KafkaSettings, tenant: str | None = None) -> list[FeedbackSuggested]:
    """Every suggestion on the topic now (one tenant's, or all), oldest first per partition."""
    topic = kafka.topic(Topic.FEEDBACK_SUGGESTED)
    consumer = reading_consumer(kafka, topic)
    await consumer.start()
    found: list[FeedbackSuggested] = []
    try:
        async for _, record in snapshot(consumer, topic):
            try:
                event = FeedbackSuggested.model_validate_json(record.value or b"")
            except ValidationError:
                continue  # not ours to judge here; training goes on with the rest
            if tenant is None or event.tenant_id == tenant:
                found.append(event)
    finally:
        await consumer.stop()
    return found


def feedback_examples(
    events: list[FeedbackSuggested], threshold: float = THRESHOLD
) -> list[Example]:
    """One example per text, labelled by its latest suggestion; texts with no trained label
    among their attributes are left out."""
    label_of = {attribute: label for label, attribute in LABEL_ATTRIBUTES.items()}
    latest: dict[str, Example] = {}
    for event in sorted(events, key=lambda e: e.suggested_at):
        labels = {
            label_of[attribute]: float(score >= threshold)
            for attribute, score in event.scores.items()
            if label_of.get(attribute) in LABELS
        }
        text = clean(event.text)
        if labels and text:
            latest[text.lower()] = Example(text, SOURCE, labels)
    return list(latest.values())


def merge(examples: list[Example], extra: list[Example]) -> list[Example]:
    """`examples` plus `extra`; for a text in both, `extra`'s labels win."""
    by_text = {e.text.lower(): e for e in examples}
    for example in extra:
        by_text[example.text.lower()] = example
    return list(by_text.values())


def add_feedback(examples: list[Example], tenant: str | None = None) -> list[Example]:
    """`examples` with the suggestions now on feedback.suggested (KAFKA_* settings)."""
    events = asyncio.run(read_feedback(KafkaSettings(), tenant))
    return merge(examples, feedback_examples(events))
