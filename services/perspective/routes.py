"""POST /v1alpha1/comments:analyze and :suggestscore, and the discovery document."""

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from faststream.kafka import KafkaBroker

from services.common.auth import SentKey, get_auth
from services.common.contract import FeedbackSuggested, Topic, feedback_key
from services.common.tenants import ApiKey, Scope
from services.perspective import discovery, metrics, pipeline
from services.perspective.attributes import (
    LABEL_ATTRIBUTES,
    RELEVANCE,
    Span,
    attribute_labels,
    sentences,
)
from services.perspective.errors import ApiError, invalid
from services.perspective.schemas import AnalyzeRequest, SuggestRequest, TextEntry
from services.perspective.scorer import Job, Result, Scorer
from services.perspective.settings import PerspectiveSettings

log = logging.getLogger(__name__)
router = APIRouter()
PROBABILITY = "PROBABILITY"


def get_settings(request: Request) -> PerspectiveSettings:
    return request.app.state.settings  # type: ignore[no-any-return]  # starlette State is untyped


def get_scorer(request: Request) -> Scorer:
    return request.app.state.scorer  # type: ignore[no-any-return]


async def get_key(
    request: Request,
    given: SentKey,
    x_goog_api_key: Annotated[str | None, Header()] = None,
) -> ApiKey:
    """A tenant key with the `analyze` scope: `?key=` as Perspective's clients send it, or
    `X-Goog-Api-Key`, `X-Api-Key` or a bearer token."""
    return await get_auth(request).authenticate(given or x_goog_api_key, Scope.ANALYZE)


SettingsDep = Annotated[PerspectiveSettings, Depends(get_settings)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
KeyDep = Annotated[ApiKey, Depends(get_key)]


@router.post("/v1alpha1/comments:analyze")
async def analyze(
    body: AnalyzeRequest,
    request: Request,
    api_key: KeyDep,
    settings: SettingsDep,
    scorer: ScorerDep,
) -> dict[str, Any]:
    """Scores for the requested attributes. The text is kept nowhere unless `doNotStore` is
    false and the tenant lets analyzed comments into the moderation pipeline."""
    text = _check_text(body.comment, settings)
    languages = _check_languages(body.languages, settings)
    attributes = _check_attributes(body, scorer)
    context = [e.text for e in body.context.entries if e.text.strip()] if body.context else []
    if RELEVANCE in body.requested_attributes and not context:
        raise invalid("Attribute RELEVANCE needs context.entries with some text.")
    spans = sentences(text) if body.span_annotations else []
    relevant = RELEVANCE in body.requested_attributes
    job = Job([text, *(s.text for s in spans)], context if relevant else None)
    stored = not body.do_not_store and await _stores_comments(request, api_key.tenant)
    if stored:
        submitted = pipeline.submit(
            request.app.state.broker,
            request.app.state.articles,
            settings,
            api_key.tenant,
            body,
            text,
            context,
            languages[0],
        )
        # Scored while Kafka acknowledges: the caller waits for the slower of the two only.
        result, _ = await asyncio.gather(scorer.score(job), submitted)
    else:
        result = await scorer.score(job)
    if body.do_not_store:
        metrics.DO_NOT_STORE.inc()
    answer: dict[str, Any] = {
        "attributeScores": _attribute_scores(body, attributes, spans, result),
        "languages": languages,
        "detectedLanguages": languages,
    }
    if body.client_token is not None:
        answer["clientToken"] = body.client_token
    return answer


@router.post("/v1alpha1/comments:suggestscore")
async def suggest_score(
    body: SuggestRequest, request: Request, api_key: KeyDep, settings: SettingsDep
) -> dict[str, Any]:
    """A suggested score, kept on feedback.suggested for retraining."""
    text = _check_text(body.comment, settings)
    languages = _check_languages(body.languages, settings)
    known = set(LABEL_ATTRIBUTES.values())
    unknown = sorted(set(body.attribute_scores) - known)
    if unknown:
        raise invalid(f"Unknown attribute: {', '.join(unknown)}")
    event = FeedbackSuggested(
        tenant_id=api_key.tenant,
        text=text,
        scores={a: s.summary_score.value for a, s in body.attribute_scores.items()},
        languages=languages,
        community_id=body.community_id,
        client_token=body.client_token,
    )
    broker: KafkaBroker = request.app.state.broker
    try:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            topic = settings.kafka.topic(Topic.FEEDBACK_SUGGESTED)
            await broker.publish(event, topic, key=feedback_key(event))
    except Exception as error:
        log.warning("suggestion not recorded", extra={"error": repr(error)})
        raise ApiError(503, "The feedback log is unavailable; retry later.") from error
    answer: dict[str, Any] = {"detectedLanguages": languages, "requestedLanguages": languages}
    if body.client_token is not None:
        answer["clientToken"] = body.client_token
    return answer


@router.get("/$discovery/rest")
async def discovery_document(request: Request, version: str = discovery.VERSION) -> Any:
    """Read by Google's API clients; `key=` and `alt=json` may come along and are ignored."""
    if version != discovery.VERSION:
        raise ApiError(404, f"No API version {version!r}; this server offers v1alpha1.")
    return discovery.document(str(request.base_url))


def _attribute_scores(
    body: AnalyzeRequest, attributes: dict[str, str], spans: list[Span], result: Result
) -> dict[str, Any]:
    """Perspective's `attributeScores`, leaving out scores under a requested threshold."""
    scores: dict[str, Any] = {}
    for attribute, params in body.requested_attributes.items():
        threshold = params.score_threshold or 0.0
        if attribute == RELEVANCE:
            # A cosine; below 0 means unrelated, so it is clamped to Perspective's 0-1 range.
            value = max(0.0, result.relevance or 0.0)
            if value >= threshold:
                scores[attribute] = {"summaryScore": _score(value)}
            continue
        label = attributes[attribute]
        if result.scores[0][label] < threshold:
            continue
        scores[attribute] = {"summaryScore": _score(result.scores[0][label])}
        if spans:
            scores[attribute]["spanScores"] = [
                {"begin": s.begin, "end": s.end, "score": _score(r[label])}
                for s, r in zip(spans, result.scores[1:], strict=True)
                if r[label] >= threshold
            ]
    return scores


def _score(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 6), "type": PROBABILITY}


async def _stores_comments(request: Request, tenant: str) -> bool:
    """Whether the tenant lets analyzed comments into the moderation pipeline (off by default)."""
    found = await get_auth(request).tenants.tenant(tenant)
    return found is not None and found.store_comments


def _check_text(comment: TextEntry, settings: PerspectiveSettings) -> str:
    if not comment.text.strip():
        raise invalid("Comment must be non-empty.")
    size = len(comment.text.encode())
    if size > settings.max_text_bytes:
        raise invalid(
            f"Comment text too long: {size} bytes, at most {settings.max_text_bytes} bytes."
        )
    return comment.text


def _check_languages(languages: list[str], settings: PerspectiveSettings) -> list[str]:
    """Language tags by their primary subtag (`en-US` is `en`); none given means English."""
    if not languages:
        return settings.languages[:1]
    unsupported = [tag for tag in languages if tag.split("-")[0].lower() not in settings.languages]
    if unsupported:
        raise invalid(
            f"Attribute TOXICITY does not support request languages: {', '.join(unsupported)}"
            f" (supported: {', '.join(settings.languages)})"
        )
    return [tag.split("-")[0].lower() for tag in languages]


def _check_attributes(body: AnalyzeRequest, scorer: Scorer) -> dict[str, str]:
    """Attribute -> engine label for what was requested; anything the engine lacks is a 400."""
    if not body.requested_attributes:
        raise invalid("requestedAttributes must name at least one attribute.")
    offered = attribute_labels(scorer.labels)
    unknown = sorted(a for a in body.requested_attributes if a not in offered and a != RELEVANCE)
    if unknown:
        raise invalid(
            f"Unknown attribute: {', '.join(unknown)} (this engine offers:"
            f" {', '.join([*offered, RELEVANCE])})"
        )
    for attribute, params in body.requested_attributes.items():
        if params.score_type not in (None, PROBABILITY):
            raise invalid(f"{attribute}: scoreType {params.score_type} is not supported.")
    return offered
