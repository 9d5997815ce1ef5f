"""A batch of comments -> verdicts: decision cache, score cache, inference, relevance, policy.

The policy is the tenant's effective one (section and article overrides applied), read from
Redis at most every few seconds; repeated posts and author history come from Redis too.

No Kafka in here. Inference runs on one worker thread so the event loop keeps serving Kafka
heartbeats and HTTP probes while the model works; with an `EngineProcess` that thread only
waits on the inference process.
"""

import asyncio
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from services.common import redis_keys
from services.common.articles import ArticleStore
from services.common.contract import (
    ArticleUpserted,
    CommentModerated,
    CommentSubmitted,
    Scores,
    utc_now,
)
from services.common.ratelimit import Rate, TokenBuckets
from services.common.redis_client import RedisClient, get_many
from services.moderation import metrics
from services.moderation.adaptation import SITE_LABEL, Adapter
from services.moderation.adaptation_store import AdapterStore
from services.moderation.analysis import (
    CHUNK_WORDS,
    Analysis,
    ArticleRef,
    EngineRun,
    article_chunks,
    article_groups,
    reaction_vectors,
    relevance,
    shared_groups,
)
from services.moderation.engine_process import runner
from services.moderation.policy import Context, Policy, decide
from services.moderation.policy_store import PolicyStore
from services.moderation.scoring import Engine, LabelScores, Vectors

CommentRef = tuple[str, str]  # (tenant, comment_id)


@dataclass(frozen=True)
class CacheSettings:
    decision_ttl_seconds: int
    score_ttl_seconds: int
    embedding_ttl_seconds: int
    policy_cache_seconds: float = 2.0


class Moderator:
    def __init__(
        self, redis: RedisClient, engine: Engine, policy: Policy, caches: CacheSettings
    ) -> None:
        self._redis = redis
        self._engine = engine
        self._articles = ArticleStore(redis)
        self.policies = PolicyStore(redis, policy, caches.policy_cache_seconds)
        self.adapters = AdapterStore(redis, caches.policy_cache_seconds)
        self._buckets = TokenBuckets(redis)
        self._caches = caches
        self._inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._run_engine = runner(engine)
        # Cached scores and embeddings are the model's: a new model version never reads them.
        self._model = redis_keys.model_key(engine.name, engine.model_version)
        # Texts being scored for one batch, by hash: another batch (the second consumer's)
        # waits for that result instead of scoring the same text again. None: it failed.
        self._in_flight: dict[str, asyncio.Future[Analysis | None]] = {}
        self._reactions = reaction_vectors(engine)  # a few short texts, once per process
        metrics.report_from_start(engine.name, [*policy.thresholds, "relevance"])

    def close(self) -> None:
        self._inference.shutdown(wait=True)

    async def moderate(self, comments: Sequence[CommentSubmitted]) -> list[CommentModerated]:
        """One verdict per comment, in order; a comment decided before gets its verdict again."""
        decided = await self._cached_decisions(comments)
        fresh = list({_ref(c): c for c in comments if _ref(c) not in decided}.values())
        if fresh:
            articles = await self._articles.get_many([(c.tenant_id, c.article_id) for c in fresh])
            chunks = {ref: article_chunks(a) for ref, a in articles.items()}
            chunks = {ref: c for ref, c in chunks.items() if c}
            analyses, article_vectors, parents = await self._analyse(fresh, chunks)
            policies = await self._policies(fresh, articles)
            contexts = await self._contexts(fresh, policies)
            adapters = await self._adapters(fresh)
            groups = {ref: article_groups(c) for ref, c in chunks.items()}
            new = [
                self._decide(
                    c,
                    analyses[redis_keys.text_hash(c.body)],
                    article_vectors.get((c.tenant_id, c.article_id)),
                    groups.get((c.tenant_id, c.article_id), frozenset()),
                    parents.get(_ref(c)),
                    policy,
                    context,
                    adapters[c.tenant_id],
                )
                for c, policy, context in zip(fresh, policies, contexts, strict=True)
            ]
            await self._remember(new)
            decided.update({(d.tenant_id, d.comment_id): d for d in new})
        return [decided[_ref(c)] for c in comments]

    async def _policies(
        self, comments: Sequence[CommentSubmitted], articles: dict[ArticleRef, ArticleUpserted]
    ) -> list[Policy]:
        found = []
        for c in comments:
            article = articles.get((c.tenant_id, c.article_id))
            document = await self.policies.cached(c.tenant_id)
            found.append(document.effective(article.section if article else None, c.article_id))
        return found

    async def _adapters(self, comments: Sequence[CommentSubmitted]) -> dict[str, Adapter | None]:
        engine = self._engine
        return {
            tenant: await self.adapters.cached(tenant, engine.name, engine.model_version)
            for tenant in dict.fromkeys(c.tenant_id for c in comments)
        }

    async def _contexts(
        self, comments: Sequence[CommentSubmitted], policies: Sequence[Policy]
    ) -> list[Context]:
        """Repeats are counted as a set of comment ids, so a redelivered comment counts once."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for c, policy in zip(comments, policies, strict=True):
                key = redis_keys.repeats(c.tenant_id, c.author.id, redis_keys.text_hash(c.body))
                pipe.sadd(key, c.comment_id)
                pipe.expire(key, policy.repeat_window_seconds)
                pipe.scard(key)
                pipe.hget(redis_keys.author(c.tenant_id, c.author.id), "approved")
            raw = await pipe.execute()
        over_rate = await self._authors_over_rate(comments, policies)
        return [
            Context(
                repeats=int(raw[i * 4 + 2]) - 1,
                author_approved=int(raw[i * 4 + 3] or 0),
                author_over_rate=over_rate[i],
            )
            for i in range(len(comments))
        ]

    async def _authors_over_rate(
        self, comments: Sequence[CommentSubmitted], policies: Sequence[Policy]
    ) -> list[bool]:
        """One token per comment from its author's bucket, in order, so a flood's first
        comments pass and the rest are over. Buckets are per tenant and author: one site's
        flood never spends another's."""
        limited = [i for i, p in enumerate(policies) if p.author_rate_per_minute]
        over = [False] * len(comments)
        if not limited:
            return over
        async with self._redis.pipeline(transaction=False) as pipe:
            for i in limited:
                c = comments[i]
                bucket = redis_keys.author_bucket(c.tenant_id, c.author.id)
                await self._buckets.queue_take(
                    pipe, bucket, Rate(policies[i].author_rate_per_minute)
                )
            results = await pipe.execute()
        for i, (allowed, _) in zip(limited, results, strict=True):
            over[i] = not allowed
        return over

    def _decide(
        self,
        comment: CommentSubmitted,
        analysis: Analysis,
        article_chunks: Vectors | None,
        groups: frozenset[str],
        parent: Vectors | None,
        policy: Policy,
        context: Context,
        adapter: Adapter | None = None,
    ) -> CommentModerated:
        """With a tenant's adapter, its site score joins the labels and its band decides in
        place of the per-label thresholds; the verdict names the adapter in `model_version`.
        `groups`: the identity groups the article names."""
        score = None
        if article_chunks is not None:
            shared = shared_groups(comment.body, groups)
            score = relevance(analysis.embedding, article_chunks, parent, self._reactions, shared)
        toxicity, model_version = analysis.toxicity, self._engine.model_version
        if adapter is not None:
            site = adapter.score(toxicity, analysis.embedding)
            toxicity = {**toxicity, SITE_LABEL: site}
            policy, model_version = adapter.policy(policy), adapter.served_version
        verdict, reasons = decide(policy, toxicity, score, comment.body, context)
        decided_at = utc_now()
        latency = (decided_at - comment.submitted_at).total_seconds()
        metrics.DECISION_SECONDS.observe(max(latency, 0.0))
        observe_scores(toxicity, score)
        return CommentModerated(
            tenant_id=comment.tenant_id,
            article_id=comment.article_id,
            comment_id=comment.comment_id,
            verdict=verdict,
            reasons=reasons,
            scores=Scores(toxicity=toxicity, relevance=score),
            engine=self._engine.name,
            model_version=model_version,
            decided_at=decided_at,
            submitted_at=comment.submitted_at,
            latency_ms=round(latency * 1000, 1),
            comment=comment,
        )

    async def _cached_decisions(
        self, comments: Sequence[CommentSubmitted]
    ) -> dict[CommentRef, CommentModerated]:
        refs = list(dict.fromkeys(_ref(c) for c in comments))
        raw = await get_many(self._redis, [redis_keys.decision(*ref) for ref in refs])
        found = {
            ref: CommentModerated.model_validate_json(v)
            for ref, v in zip(refs, raw, strict=True)
            if v
        }
        _count("decision", hits=len(found), total=len(refs))
        return found

    async def _remember(self, decisions: Sequence[CommentModerated]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for d in decisions:
                pipe.set(
                    redis_keys.decision(d.tenant_id, d.comment_id),
                    d.model_dump_json(),
                    ex=self._caches.decision_ttl_seconds,
                )
            await pipe.execute()

    async def _analyse(
        self, comments: Sequence[CommentSubmitted], chunks: dict[ArticleRef, list[str]]
    ) -> tuple[dict[str, Analysis], dict[ArticleRef, Vectors], dict[CommentRef, Vectors]]:
        """Comment analyses by text hash, article chunk matrices (for each article's chunk
        texts in `chunks`), and the embedding of each reply's parent, by the reply; all from
        the caches where they are there."""
        texts = {redis_keys.text_hash(c.body): c.body for c in comments}
        parents = await self._parent_texts(comments)
        parent_texts = {redis_keys.text_hash(body): body for body in parents.values()}
        analyses = await self._cached_analyses(list(texts.keys() | parent_texts.keys()))
        digests = {ref: chunks_digest(c) for ref, c in chunks.items()}
        known = await self._cached_article_chunks(digests)
        missing_texts = {d: t for d, t in texts.items() if d not in analyses}
        elsewhere = {d: self._in_flight[d] for d in missing_texts if d in self._in_flight}
        missing_texts = {d: t for d, t in missing_texts.items() if d not in elsewhere}
        missing_parents = {
            d: t for d, t in parent_texts.items() if d not in analyses and d not in texts
        }
        missing_articles = {ref: chunks[ref] for ref in chunks if ref not in known}
        context: dict[str, Vectors] = {}
        if missing_texts or missing_articles or missing_parents:
            run = await self._infer_sharing(missing_texts, missing_articles, missing_parents)
            await self._store(run.analyses, {digests[r]: m for r, m in run.articles.items()})
            analyses.update(run.analyses)
            known.update(run.articles)
            context = run.contexts
        if elsewhere:
            analyses.update(await self._wait_for(elsewhere, texts))
        parent_vectors = {}
        for ref, body in parents.items():
            digest = redis_keys.text_hash(body)
            found = analyses.get(digest)
            parent_vectors[ref] = found.embedding if found else context[digest]
        return analyses, known, parent_vectors

    async def _parent_texts(self, comments: Sequence[CommentSubmitted]) -> dict[CommentRef, str]:
        """The parent's body for each reply whose parent is found on the same article: in this
        batch, in the decision cache, or in the publisher's comment view."""
        batch = {_ref(c): c for c in comments}
        replies = [c for c in comments if c.parent_id]
        wanted = list(dict.fromkeys((c.tenant_id, c.parent_id or "") for c in replies))
        lookup = [ref for ref in wanted if ref not in batch]
        found: dict[CommentRef, CommentSubmitted] = {r: batch[r] for r in wanted if r in batch}
        if lookup:
            async with self._redis.pipeline(transaction=False) as pipe:
                for tenant, comment_id in lookup:
                    pipe.get(redis_keys.decision(tenant, comment_id))
                    pipe.hget(redis_keys.comment(tenant, comment_id), "decision")
                raw = await pipe.execute()
            for i, ref in enumerate(lookup):
                if stored := raw[2 * i] or raw[2 * i + 1]:
                    found[ref] = CommentModerated.model_validate_json(stored).comment
        _count("parent", hits=len(found), total=len(wanted))
        parents = {}
        for c in replies:
            parent = found.get((c.tenant_id, c.parent_id or ""))
            if parent is not None and parent.article_id == c.article_id and parent.body.strip():
                parents[_ref(c)] = parent.body
        return parents

    async def _infer_sharing(
        self, texts: dict[str, str], articles: dict[ArticleRef, list[str]], contexts: dict[str, str]
    ) -> EngineRun[str, ArticleRef, str]:
        """`_infer`, with `texts` marked in flight until their analyses are known."""
        loop = asyncio.get_running_loop()
        own = {digest: loop.create_future() for digest in texts}
        self._in_flight.update(own)
        run = None
        try:
            run = await self._infer(texts, articles, contexts)
            return run
        finally:
            for digest, future in own.items():
                self._in_flight.pop(digest, None)
                future.set_result(run.analyses.get(digest) if run else None)

    async def _wait_for(
        self, elsewhere: dict[str, asyncio.Future[Analysis | None]], texts: dict[str, str]
    ) -> dict[str, Analysis]:
        """The analyses another batch is computing; any it failed to compute, scored here."""
        results = await asyncio.gather(*elsewhere.values())
        found = {d: a for d, a in zip(elsewhere, results, strict=True) if a is not None}
        _count("in_flight", hits=len(found), total=len(elsewhere))
        failed = {d: texts[d] for d in elsewhere if d not in found}
        if failed:
            run = await self._infer_sharing(failed, {}, {})
            await self._store(run.analyses, {})
            found.update(run.analyses)
        return found

    async def _infer(
        self, texts: dict[str, str], articles: dict[ArticleRef, list[str]], contexts: dict[str, str]
    ) -> EngineRun[str, ArticleRef, str]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self._inference, self._run_engine, texts, articles, contexts
        )
        metrics.INFERENCE_SECONDS.labels(engine=self._engine.name).observe(
            time.perf_counter() - started
        )
        return result

    async def _cached_analyses(self, digests: list[str]) -> dict[str, Analysis]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for digest in digests:
                pipe.hgetall(redis_keys.score(self._model, digest))
            raw: list[dict[bytes, bytes]] = await pipe.execute()
        found = {
            digest: Analysis(
                _loads_scores(entry[b"toxicity"]), np.frombuffer(entry[b"embedding"], np.float32)
            )
            for digest, entry in zip(digests, raw, strict=True)
            if b"toxicity" in entry and b"embedding" in entry
        }
        _count("score", hits=len(found), total=len(digests))
        return found

    async def _cached_article_chunks(
        self, digests: dict[ArticleRef, str]
    ) -> dict[ArticleRef, Vectors]:
        refs = list(digests)
        if not refs:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.hgetall(redis_keys.article_chunks(self._model, digests[ref]))
            raw: list[dict[bytes, bytes]] = await pipe.execute()
        found = {
            ref: _loads_matrix(entry)
            for ref, entry in zip(refs, raw, strict=True)
            if b"rows" in entry and b"vectors" in entry
        }
        _count("article_embedding", hits=len(found), total=len(refs))
        return found

    async def _store(
        self, analyses: dict[str, Analysis], article_chunks: dict[str, Vectors]
    ) -> None:
        engine = self._model
        async with self._redis.pipeline(transaction=False) as pipe:
            for digest, analysis in analyses.items():
                key = redis_keys.score(engine, digest)
                pipe.hset(
                    key,
                    mapping={
                        "toxicity": _dumps_scores(analysis.toxicity),
                        "embedding": analysis.embedding.tobytes(),
                    },
                )
                pipe.expire(key, self._caches.score_ttl_seconds)
            for digest, matrix in article_chunks.items():
                key = redis_keys.article_chunks(engine, digest)
                # float16 halves the size; cosines move by about 1e-3, well below what counts.
                mapping = {"rows": len(matrix), "vectors": matrix.astype(np.float16).tobytes()}
                pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
                pipe.expire(key, self._caches.embedding_ttl_seconds)
            await pipe.execute()


def observe_scores(toxicity: LabelScores, relevance: float | None) -> None:
    for label, score in toxicity.items():
        metrics.SCORES.labels(label=label).observe(score)
    if relevance is not None:
        metrics.SCORES.labels(label="relevance").observe(relevance)


def _ref(comment: CommentSubmitted) -> CommentRef:
    return (comment.tenant_id, comment.comment_id)


def _count(cache: str, *, hits: int, total: int) -> None:
    metrics.CACHE_HITS.labels(cache=cache).inc(hits)
    metrics.CACHE_MISSES.labels(cache=cache).inc(total - hits)


# How chunks are read (Engine.embed_articles): vectors cached under another reading are not
# reused. "written" replaced chunks read with identity terms made neutral.
CHUNK_READING = "written"


def chunks_digest(chunks: list[str]) -> str:
    """The chunking's parameters and reading are part of the hash: a new one is a new key."""
    return redis_keys.text_hash(f"chunks:{CHUNK_WORDS}:{CHUNK_READING}\x1f" + "\x1f".join(chunks))


def _loads_matrix(entry: dict[bytes, bytes]) -> Vectors:
    rows = int(entry[b"rows"])
    flat = np.frombuffer(entry[b"vectors"], np.float16).astype(np.float32)
    return flat.reshape(rows, -1)


def _dumps_scores(scores: LabelScores) -> str:
    return json.dumps(scores, sort_keys=True)


def _loads_scores(raw: bytes) -> LabelScores:
    return {str(k): float(v) for k, v in json.loads(raw).items()}
