"""Every Redis key is built here; tenant data is prefixed with the tenant.

Keys are laid out for Redis Cluster, which runs a script or a transaction only on keys of one
hash slot. A `{...}` part of a key (a hash tag) is all the cluster hashes, so:

- `{tenant}`: what one script or transaction changes together about a tenant's comments (the
  publisher's view of a verdict: comment, feed, review queue, history, author, decisions; the
  per-day counts; policies; adapters; API key index). One tenant's views live on one master.
- no tag: everything written one key at a time (score and article caches, decision cache,
  articles, repeats, rate limits, sessions, accounts, API keys), spread over every master by
  the whole key, so one tenant's cache and rate-limit load spreads too.
- `{desk-N}` and `{webhooks-N}`, N = `shard(tenant)`: the work queues that a sweeper claims from
  across tenants (moderator decisions in their undo window, webhook deliveries) are split into
  `SHARDS` slots, each holding its tenants' queue entries beside their bodies.

The same layout serves every REDIS_MODE, so a standalone Redis moves to a cluster by copying
its keys (`modctl redis migrate`).
"""

import hashlib
import unicodedata
import zlib

SHARDS = 16  # slots of the cross-tenant work queues


def shard(tenant: str) -> int:
    """The work-queue shard of a tenant: stable across processes and releases."""
    return zlib.crc32(tenant.encode()) % SHARDS


def _tenant(tenant: str) -> str:
    """A tenant as a hash tag (tenant ids have no braces: `contract.ID_PATTERN`)."""
    return "{" + tenant + "}"


def text_hash(text: str) -> str:
    """Same text up to case, width and spacing, same hash: a spam wave costs one inference."""
    normalised = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normalised.encode()).hexdigest()


def decision(tenant: str, comment_id: str) -> str:
    return f"decision:{tenant}:{comment_id}"


def model_key(engine: str, model_version: str) -> str:
    """The part of a cache key that names what computed the value: the engine and its model
    version, so scores and embeddings of another model are never read as this one's."""
    return f"{engine}@{model_version}"


def score(model: str, digest: str) -> str:
    """A text's scores and embedding, by `model_key` and `text_hash`."""
    return f"score:{model}:{digest}"


def article(tenant: str, article_id: str) -> str:
    return f"article:{tenant}:{article_id}"


def article_chunks(model: str, digest: str) -> str:
    """An article version's chunk embeddings (a hash: `rows`, `vectors` as float16 bytes),
    by `model_key` and the hash of its chunk texts: a new version with new text gets a new
    key."""
    return f"article-chunks:{model}:{digest}"


def feed(tenant: str, article_id: str) -> str:
    return f"feed:{_tenant(tenant)}:{article_id}"


def comment(tenant: str, comment_id: str) -> str:
    return f"comment:{_tenant(tenant)}:{comment_id}"


def review(tenant: str) -> str:
    return f"review:{_tenant(tenant)}"


REVIEW_PATTERN = "review:{*}"  # every tenant's review queue, for SCAN


def review_tenant(key: str) -> str:
    """The tenant of a `review:{tenant}` key."""
    return key.removeprefix("review:").removeprefix("{").removesuffix("}")


def queue(tenant: str, status: str) -> str:
    """Decided comments by status (`approved`, `rejected`), newest decision last; held ones are
    in `review(tenant)`."""
    return f"queue:{_tenant(tenant)}:{status}"


def decisions(tenant: str) -> str:
    """The tenant's moderator verdicts (each carrying the machine's scores of the time), by
    decision time: the site's own labels, kept for export and adaptation."""
    return f"decisions:{_tenant(tenant)}"


def verdict_day(tenant: str, day: str) -> str:
    """A hash of one UTC day (`YYYY-MM-DD`) of a tenant's machine verdicts: `comments`,
    `verdict:{verdict}` and `model:{model_version}` counts, each comment counted once a day."""
    return f"verdict-day:{_tenant(tenant)}:{day}"


def verdict_day_seen(tenant: str, day: str) -> str:
    """The comment ids counted in `verdict_day` (a set), so a redelivered verdict counts once."""
    return f"verdict-day-seen:{_tenant(tenant)}:{day}"


def held_waits(tenant: str, day: str) -> str:
    """Comments the machine held that a moderator decided on one UTC day: a sorted set of
    `{comment_id}@{held_us}` by the seconds they waited."""
    return f"held-waits:{_tenant(tenant)}:{day}"


def history(tenant: str, comment_id: str) -> str:
    """Every verdict a comment received, machine and human, by decision time."""
    return f"history:{_tenant(tenant)}:{comment_id}"


def author(tenant: str, author_id: str) -> str:
    """An author's comment counts by current verdict (`approved`, `review`, `rejected`)."""
    return f"author:{_tenant(tenant)}:{author_id}"


def author_comments(tenant: str, author_id: str) -> str:
    return f"author-comments:{_tenant(tenant)}:{author_id}"


def repeats(tenant: str, author_id: str, digest: str) -> str:
    """The comment ids by which an author posted one text (a set, so redelivery counts once)."""
    return f"repeat:{tenant}:{author_id}:{digest}"


def policy(tenant: str) -> str:
    """A hash: `tenant`, `section:{name}` and `article:{id}` -> policy JSON."""
    return f"policy:{_tenant(tenant)}"


def policy_changes(tenant: str) -> str:
    return f"policy-changes:{_tenant(tenant)}"


def adaptations(tenant: str) -> str:
    """A hash: `v:{n}` -> each adapter version that served (JSON), `serving` -> the version
    now serving (absent: the shared model), `next` -> the last version number handed out,
    `attempted` -> the count of moderator decisions when adaptation last ran."""
    return f"adaptations:{_tenant(tenant)}"


def audit(tenant: str) -> str:
    """Every moderator action on the tenant's comments, newest first."""
    return f"audit:{_tenant(tenant)}"


def desk_events(tenant: str) -> str:
    """Pub/sub channel: queue changes the desk shows live."""
    return f"desk-events:{tenant}"


def moderator(username: str) -> str:
    return f"moderator:{username}"


def moderators() -> str:
    return "moderators"


def session(token_digest: str) -> str:
    return f"session:{token_digest}"


def moderator_sessions(username: str) -> str:
    """The session keys of one moderator, so that all of them can be ended at once."""
    return f"moderator-sessions:{username}"


def login_failures(kind: str, subject: str) -> str:
    """Failed sign-ins in the current throttle window, per account or per client address."""
    return f"login-failures:{kind}:{subject}"


def pending_decisions(shard: int) -> str:
    """Moderator decisions waiting out their undo window, the tenants of one `shard`: a sorted
    set by due time of `{tenant}/{comment_id}`; the decisions are in
    `pending_decision_bodies(tenant)`, in the same slot."""
    return f"desk-pending:{{desk-{shard}}}"


def pending_decision_bodies(tenant: str) -> str:
    """The tenant's decisions in their undo window: comment id -> decision JSON."""
    return pending_decision_bodies_prefix(shard(tenant)) + tenant


def pending_decision_bodies_prefix(shard: int) -> str:
    """What `pending_decision_bodies` puts before the tenant, for a script that claims them."""
    return f"desk-pending:{{desk-{shard}}}:"


def tenant(name: str) -> str:
    """A hash: `created_at`, `private_feeds` and `store_comments` ("1" or "0")."""
    return f"tenant:{_tenant(name)}"


def tenants() -> str:
    return "tenants"


def api_key(key_digest: str) -> str:
    """A hash for one API key, by its sha256: `tenant`, `scopes`, `created_at`, `expires_at`,
    `revoked_at`, `requests_per_minute`; the key itself is stored nowhere."""
    return f"api-key:{key_digest}"


def tenant_keys(tenant: str) -> str:
    """The digests of every key the tenant was given (revoked and expired ones included)."""
    return f"api-keys:{_tenant(tenant)}"


def key_bucket(key_digest: str, service: str) -> str:
    """The token bucket of one key's requests to one service."""
    return f"ratelimit:key:{key_digest}:{service}"


def author_bucket(tenant: str, author_id: str) -> str:
    """The token bucket of one author's comments."""
    return f"ratelimit:author:{tenant}:{author_id}"


def perspective_tenant(tenant: str) -> str:
    """Where `store_comments` was kept before it joined the tenant record: read only to move it
    there (`TenantStore.migrate_store_comments`)."""
    return f"perspective-tenant:{tenant}"


PERSPECTIVE_TENANT_PATTERN = "perspective-tenant:*"


def perspective_tenant_name(key: str) -> str:
    """The tenant of a `perspective-tenant:{tenant}` key."""
    return key.removeprefix("perspective-tenant:")


def webhooks(tenant: str) -> str:
    """The tenant's webhook endpoints (JSON)."""
    return f"webhooks:{tenant}"


def _webhooks(shard: int) -> str:
    return f"{{webhooks-{shard}}}"


def webhook_due(shard: int) -> str:
    """Deliveries waiting for their next attempt, the tenants of one `shard`: a sorted set by
    due time (Unix seconds) of `{tenant}/{delivery_id}`."""
    return f"webhook-due:{_webhooks(shard)}"


def webhook_delivery(tenant: str, delivery_id: str) -> str:
    """One delivery: its event, endpoint, status and every attempt (JSON)."""
    return f"webhook-delivery:{_webhooks(shard(tenant))}:{tenant}:{delivery_id}"


def webhook_log(tenant: str) -> str:
    """The tenant's deliveries, newest last: a sorted set by lex order of
    `{created_ms:013d}:{delivery_id}` (all scores 0), so pages are stable."""
    return f"webhook-log:{_webhooks(shard(tenant))}:{tenant}"


def webhook_dead(shard: int) -> str:
    """Dead-lettered deliveries, the tenants of one `shard`: a list of `{tenant}/{delivery_id}`."""
    return f"webhook-dead:{_webhooks(shard)}"


def as_text(value: bytes | str) -> str:
    """Keys and fields read back from Redis (bytes, as clients here don't decode responses)."""
    return value.decode() if isinstance(value, bytes) else value


def replication_barrier(slot_key: str) -> str:
    """Written before a WAIT, in the hash slot of `slot_key` (`services.common.replication`)."""
    start, end = slot_key.find("{"), slot_key.find("}")
    tag = slot_key[start + 1 : end] if 0 <= start < end - 1 else slot_key
    return "replicated:{" + tag + "}"
