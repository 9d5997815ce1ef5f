"""Relevance: chunked articles (best chunk wins), replies read with their parent, the article
chunk cache in a real Redis, and the real embedded engine."""

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.articles import ArticleStore
from services.common.contract import ArticleUpserted, Verdict
from services.modctl.seed import parse_seed
from services.moderation.analysis import (
    CHUNK_WORDS,
    MAX_ARTICLE_CHUNKS,
    article_chunks,
    article_groups,
    best_chunk,
    mean_direction,
    relevance,
    shared_groups,
    split_paragraph,
    text_chunks,
)
from services.moderation.moderator import Moderator, chunks_digest
from services.moderation.policy import Policy
from services.moderation.scoring import Engine
from services.moderation.scoring.relevance import (
    RELEVANCE_FILE,
    shipped_floor,
    shipped_group_bonus,
)
from services.publisher.views import CommentViews
from tests.conftest import make_comment, unique
from tests.moderation.recording import CACHES, RecordingEngine

DEMO = parse_seed(
    (Path(__file__).parents[2] / "examples/demo/000_c2484b3214b686ee.txt").read_text("utf-8")
)

# A local round-up: ten unrelated stories, the last one about a bridge toll.
ROUNDUP_TITLE = "Around town this week"
ROUNDUP = [
    "Tickets for the summer music festival in the old harbour go on sale on Friday; organisers "
    "expect forty thousand visitors over three days.",
    "Police are asking for witnesses after a string of bicycle thefts near the central station, "
    "where a new guarded bike park opens in April.",
    "The hospital opened a new maternity ward with twenty beds, ending years of transfers to "
    "the neighbouring county for births.",
    "A local bakery won the national bread championship with a sourdough rye; its owner says "
    "the recipe came from her grandmother.",
    "The zoo welcomed two red panda cubs, born in January; visitors can see them in the new "
    "enclosure from next weekend.",
    "The public library will reopen its branches on Saturdays from March, after readers "
    "asked for weekend study space at every public hearing.",
    "The city's football club lost 3-1 at home on Sunday; the coach blamed injuries in "
    "defence and said two new players would join before the transfer deadline.",
    "A cold front brings snow and freezing rain on Thursday; schools may open late and the "
    "weather service asks drivers to stay off the roads overnight.",
    "The school board approved a new maths curriculum for primary schools, with more hours "
    "of arithmetic practice and fewer worksheets to take home.",
    "The new river bridge will charge a toll of four dollars per car from June; commuters "
    "who cross twice a day say the fee will cost them more than two thousand dollars a year.",
]
ABOUT_THE_BRIDGE = "Four dollars every time I cross the river is far too much for commuters."


async def _article(redis: Redis, tenant: str, title: str, paragraphs: list[str]) -> ArticleUpserted:
    article = ArticleUpserted(
        tenant_id=tenant, article_id=unique("a"), title=title, body="\n".join(paragraphs)
    )
    await ArticleStore(redis).upsert(article)
    return article


@pytest.fixture
async def nato(redis: Redis, tenant: str) -> ArticleUpserted:
    return await _article(redis, tenant, DEMO.title, DEMO.paragraphs)


def test_long_paragraphs_are_split_into_chunks_the_encoder_reads_whole() -> None:
    sentence = "The council debated the budget for the coming year at length. "
    paragraph = sentence * 60  # 660 words
    pieces = split_paragraph(paragraph)
    assert len(pieces) > 1
    assert all(len(p.split()) <= CHUNK_WORDS for p in pieces)
    assert " ".join(pieces).split() == paragraph.split()
    chunks = text_chunks("Title", f"Short one.\n\n{paragraph}")
    assert chunks[:2] == ["Title", "Short one."]
    assert len(text_chunks("T", "\n".join(["word"] * 500))) == MAX_ARTICLE_CHUNKS


def test_a_single_overlong_sentence_is_cut_by_words() -> None:
    pieces = split_paragraph(" ".join(["word"] * (CHUNK_WORDS * 2 + 5)))
    assert [len(p.split()) for p in pieces] == [CHUNK_WORDS, CHUNK_WORDS, 5]


async def test_comment_on_the_last_story_of_a_roundup_is_on_topic_by_its_best_chunk(
    redis: Redis, tenant: str, moderator: Moderator, engine: Engine
) -> None:
    article = await _article(redis, tenant, ROUNDUP_TITLE, ROUNDUP)
    (decision,) = await moderator.moderate(
        [make_comment(tenant, article.article_id, ABOUT_THE_BRIDGE)]
    )
    chunks = engine.embed(article_chunks(article))
    comment = engine.embed([ABOUT_THE_BRIDGE])[0]
    mean = float(np.dot(comment, mean_direction(chunks)))
    assert decision.scores.relevance == pytest.approx(best_chunk(comment, chunks), abs=0.005)
    assert decision.scores.relevance is not None
    # The comment's paragraph is one of eleven chunks: the article's average is far off.
    assert decision.scores.relevance > mean + 0.15
    assert decision.verdict is Verdict.APPROVED


async def test_a_comment_naming_a_group_its_article_names_gains_the_shipped_bonus(
    moderator: Moderator, engine: Engine, nato: ArticleUpserted
) -> None:
    """The comment's embedding reads "Europeans" as the neutral word; the article names
    European allies, so the group counts once, by the calibrated bonus."""
    text = "Europeans will have to pay for their own defence from now on."
    (decision,) = await moderator.moderate([make_comment(nato.tenant_id, nato.article_id, text)])
    chunks = article_chunks(nato)
    assert shared_groups(text, article_groups(chunks)) == 1
    cosine = best_chunk(engine.embed([text])[0], engine.embed_articles(chunks))
    assert shipped_group_bonus() > 0
    assert decision.scores.relevance == pytest.approx(cosine + shipped_group_bonus(), abs=0.005)


def test_the_bonus_counts_each_shared_group_and_stops_at_one() -> None:
    unit = np.array([1.0, 0.0], dtype=np.float32)
    chunks = np.array([[0.6, 0.8]], dtype=np.float32)
    bonus = shipped_group_bonus()
    assert shared_groups("Muslim and Christian voters", frozenset({"muslim", "jew"})) == 1
    assert shared_groups("Muslim voters", frozenset()) == 0
    assert relevance(unit, chunks) == pytest.approx(0.6)
    assert relevance(unit, chunks, shared=2) == pytest.approx(0.6 + 2 * bonus)
    assert relevance(unit, chunks, shared=100) == 1.0


async def test_short_reply_to_an_on_topic_comment_is_not_held_for_relevance(
    moderator: Moderator, nato: ArticleUpserted
) -> None:
    parent = make_comment(nato.tenant_id, nato.article_id, DEMO.comments[4].body)
    (parent_decision,) = await moderator.moderate([parent])
    assert parent_decision.verdict is Verdict.APPROVED
    reply = make_comment(
        nato.tenant_id, nato.article_id, "Agreed, well said.", parent_id=parent.comment_id
    )
    alone = make_comment(nato.tenant_id, nato.article_id, "Agreed, well said.")
    spam = make_comment(nato.tenant_id, nato.article_id, "Check out my channel for free bitcoin")
    # An advert posted as a reply says something of its own: it does not borrow the parent's topic.
    spam_reply = make_comment(
        nato.tenant_id,
        nato.article_id,
        "Check out my channel for free bitcoin",
        parent_id=parent.comment_id,
    )
    replied, top_level, off_topic, off_topic_reply = await moderator.moderate(
        [reply, alone, spam, spam_reply]
    )
    assert replied.verdict is Verdict.APPROVED
    assert replied.scores.relevance is not None
    assert replied.scores.relevance >= Policy().relevance_floor
    for held in (top_level, off_topic, off_topic_reply):
        assert held.verdict is Verdict.REVIEW
        assert [r.code for r in held.reasons] == ["off_topic"]


async def test_parent_is_found_in_the_same_batch_and_in_the_publishers_view(
    redis: Redis, moderator: Moderator, nato: ArticleUpserted
) -> None:
    parent = make_comment(nato.tenant_id, nato.article_id, DEMO.comments[0].body)
    reply = make_comment(
        nato.tenant_id, nato.article_id, "Exactly this.", parent_id=parent.comment_id
    )
    _, same_batch = await moderator.moderate([parent, reply])
    assert same_batch.verdict is Verdict.APPROVED

    # Only the publisher's view has the parent: the decision cache entry has expired.
    old = make_comment(nato.tenant_id, nato.article_id, DEMO.comments[3].body)
    (old_decision,) = await moderator.moderate([old])
    await CommentViews(redis).apply(old_decision, old_decision.decided_at)
    await redis.delete(redis_keys.decision(nato.tenant_id, old.comment_id))
    late = make_comment(nato.tenant_id, nato.article_id, "Exactly this.", parent_id=old.comment_id)
    (late_decision,) = await moderator.moderate([late])
    assert late_decision.verdict is Verdict.APPROVED
    assert late_decision.scores.relevance is not None
    assert late_decision.scores.relevance >= Policy().relevance_floor


async def test_reply_whose_parent_is_unknown_or_on_another_article_is_judged_alone(
    redis: Redis, moderator: Moderator, nato: ArticleUpserted
) -> None:
    other = await _article(redis, nato.tenant_id, ROUNDUP_TITLE, ROUNDUP)
    elsewhere = make_comment(nato.tenant_id, other.article_id, ROUNDUP[4])
    await moderator.moderate([elsewhere])
    cross = make_comment(
        nato.tenant_id, nato.article_id, "Agreed, well said.", parent_id=elsewhere.comment_id
    )
    missing = make_comment(
        nato.tenant_id, nato.article_id, "Agreed, well said.", parent_id=unique("gone")
    )
    decisions = await moderator.moderate([cross, missing])
    assert [d.verdict for d in decisions] == [Verdict.REVIEW, Verdict.REVIEW]


async def test_article_chunks_are_encoded_once_per_version_and_cached_compactly(
    redis: Redis, tenant: str, counting: RecordingEngine, moderator: Moderator
) -> None:
    # The cache is keyed by the chunks' text: a line no other test uses makes this one new.
    nato = await _article(redis, tenant, DEMO.title, [*DEMO.paragraphs, unique("Filed by")])
    chunks = article_chunks(nato)
    await moderator.moderate([make_comment(nato.tenant_id, nato.article_id, "NATO spending.")])
    assert [t for t in counting.embedded if t in chunks] == chunks
    counting.embedded.clear()

    # Another comment, and a second worker on the same Redis: the chunks come from the cache.
    second = Moderator(redis, counting, Policy(), CACHES)
    try:
        await second.moderate([make_comment(nato.tenant_id, nato.article_id, "Ukraine's hopes.")])
    finally:
        second.close()
    assert counting.embedded == ["Ukraine's hopes."]

    model = redis_keys.model_key(counting.name, counting.model_version)
    key = redis_keys.article_chunks(model, chunks_digest(chunks))
    stored = await redis.hgetall(key)
    assert int(stored[b"rows"]) == len(chunks)
    assert len(stored[b"vectors"]) == len(chunks) * 384 * 2  # float16

    # A new version of the article: its new text is encoded once, then reused.
    edited = nato.model_copy(
        update={
            "body": nato.body + "\nNATO leaders meet again in July.",
            "updated_at": nato.updated_at + timedelta(minutes=5),
        }
    )
    assert await ArticleStore(redis).upsert(edited)
    counting.embedded.clear()
    await moderator.moderate([make_comment(nato.tenant_id, nato.article_id, "Trump and NATO.")])
    assert "NATO leaders meet again in July." in counting.embedded
    counting.embedded.clear()
    await moderator.moderate([make_comment(nato.tenant_id, nato.article_id, "Defence budgets.")])
    assert counting.embedded == ["Defence budgets."]


async def test_a_new_model_version_never_reads_the_old_ones_cached_scores(
    redis: Redis,
    tenant: str,
    counting: RecordingEngine,
    moderator: Moderator,
    nato: ArticleUpserted,
) -> None:
    text = unique("Defence budgets are a choice")
    await moderator.moderate([make_comment(tenant, nato.article_id, text)])
    assert text in counting.scored

    same = RecordingEngine(counting)
    newer = RecordingEngine(counting)
    newer.model_version = counting.model_version + "+retrained"
    for engine in (same, newer):
        worker = Moderator(redis, engine, Policy(), CACHES)
        try:
            await worker.moderate([make_comment(tenant, nato.article_id, text)])
        finally:
            worker.close()
    assert same.scored == []  # the same model: from the cache
    assert newer.scored == [text]  # another model: scored again, article chunks too
    assert set(article_chunks(nato)) <= set(newer.embedded)


def test_policy_default_floor_is_the_shipped_calibration(tmp_path: Path) -> None:
    shipped = json.loads(RELEVANCE_FILE.read_text("utf-8"))
    assert Policy().relevance_floor == shipped["relevance_floor"] == shipped_floor()
    broken = tmp_path / "relevance.json"
    broken.write_text("{}", "utf-8")
    with pytest.raises(RuntimeError, match="no relevance_floor"):
        shipped_floor(broken)
    assert shipped_group_bonus() == shipped["shared_group_bonus"]
    with pytest.raises(RuntimeError, match="no shared_group_bonus"):
        shipped_group_bonus(broken)
