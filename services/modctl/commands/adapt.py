"""modctl adapt and modctl adaptations: a tenant's own layer over the shared model, fitted
from its moderators' decisions, listed, and rolled back."""

import argparse
import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from services.common import redis_keys
from services.common.contract import utc_now
from services.common.redis_client import RedisClient
from services.common.settings import RedisSettings
from services.common.tenants import TenantStore
from services.modctl.adapt import (
    DEFAULT_CONFIDENCE,
    HEAD_MIN_DECISIONS,
    LATER_SHARE,
    Example,
    Outcome,
    adapt,
    examples,
)
from services.moderation.adaptation import Adapter, shared_model
from services.moderation.adaptation_store import SHARED_MODEL, AdapterStore
from services.moderation.policy import Policy
from services.moderation.policy_store import PolicyStore
from services.moderation.scoring import Vectors
from services.moderation.settings import ModerationSettings
from services.publisher.labels import moderator_decisions, standing_verdicts

DEFAULT_MARGIN = 0.02
DEFAULT_SETTLED_HOURS = 24.0
STANDING_LIMIT = 20_000  # of each queue, newest first


@dataclass(frozen=True)
class Bar:
    """What a candidate must clear to serve."""

    margin: float
    confidence: float


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    fit = commands.add_parser(
        "adapt",
        help="fit a tenant's layer over the shared model from its moderators' decisions",
        description="Fits on the earlier decisions, judges on the later ones (split by time), "
        "and serves the result only if it agrees with the moderators better than the shared "
        "model by --margin, and that gain is above zero at --confidence.",
    )
    fit.add_argument("tenant", nargs="?", help="one tenant (or --all)")
    fit.add_argument("--all", action="store_true", help="every tenant, one after the other")
    fit.add_argument(
        "--new-decisions",
        type=int,
        default=0,
        metavar="N",
        help="only tenants with at least N moderator decisions since adaptation last ran for "
        "them: the schedule (run it from cron, every hour say; default 0: always)",
    )
    fit.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help=f"agreement the adapter must gain to serve (default {DEFAULT_MARGIN})",
    )
    fit.add_argument(
        "--confidence",
        type=float,
        default=DEFAULT_CONFIDENCE,
        help=f"one-sided confidence that the gain is above zero (default {DEFAULT_CONFIDENCE:g})",
    )
    fit.add_argument(
        "--settled-hours",
        type=float,
        default=DEFAULT_SETTLED_HOURS,
        help="a machine verdict no moderator changed for this long counts as the site's "
        f"(default {DEFAULT_SETTLED_HOURS:g})",
    )
    fit.add_argument("--dry-run", action="store_true", help="print the figures, change nothing")
    fit.add_argument("--by", default="modctl", help="who fitted it, kept with the version")
    fit.set_defaults(handler=cmd_adapt)

    versions = commands.add_parser("adaptations", help="a tenant's adapter versions")
    actions = versions.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every version that served, and which serves")
    listing.add_argument("tenant")
    listing.set_defaults(handler=cmd_list)
    rollback = actions.add_parser(
        "rollback", help="serve the version before the current one (or the shared model)"
    )
    rollback.add_argument("tenant")
    rollback.add_argument(
        "--to", type=int, help=f"this version instead ({SHARED_MODEL}: the shared model)"
    )
    rollback.set_defaults(handler=cmd_rollback)


def cmd_adapt(args: argparse.Namespace) -> int:
    if (args.tenant is None) == (not args.all):
        raise ValueError("tenant: name one tenant, or give --all")
    if args.new_decisions < 0:
        raise ValueError("--new-decisions: 0 or more")
    settled = timedelta(hours=args.settled_hours)
    bar = Bar(args.margin, args.confidence)
    return asyncio.run(_adapt_each(args, bar, settled))


async def _adapt_each(args: argparse.Namespace, bar: Bar, settled: timedelta) -> int:
    """Each tenant asked for, skipping those without `--new-decisions` new decisions; with
    --all the exit status is 0 when every tenant was judged, whatever the outcome."""
    async with RedisSettings().client() as redis:
        tenants = (
            [t.name for t in await TenantStore(redis).tenants()] if args.all else [args.tenant]
        )
        store = AdapterStore(redis)
        codes = []
        for tenant in tenants:
            decisions = int(await redis.zcard(redis_keys.decisions(tenant)))
            new = decisions - await store.attempted(tenant)
            if args.new_decisions and new < args.new_decisions:
                print(
                    f"tenant {tenant!r}: {new} new moderator decisions since adaptation last "
                    f"ran, fewer than {args.new_decisions}: skipped"
                )
                continue
            started = time.perf_counter()
            codes.append(await _adapt(redis, tenant, bar, settled, args.dry_run, args.by))
            if not args.dry_run:
                await store.record_attempt(tenant, decisions)
            print(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if args.all else max(codes, default=0)


def cmd_list(args: argparse.Namespace) -> int:
    async def listed() -> tuple[list[Adapter], Adapter | None]:
        async with RedisSettings().client() as redis:
            store = AdapterStore(redis)
            return await store.versions(args.tenant), await store.serving(args.tenant)

    versions, serving = asyncio.run(listed())
    if not versions:
        print(f"tenant {args.tenant!r}: no adapter has served; the shared model serves")
        return 0
    print(
        f"{'':2}{'version':<10}{'kind':<13}{'fitted':<22}{'shared':>8}{'adapted':>9}  model_version"
    )
    for a in versions:
        mark = "* " if serving and serving.version == a.version else "  "
        shared, adapted = a.evaluation.get("shared_agreement"), a.evaluation.get("agreement")
        print(
            f"{mark}{a.version:<10}{a.kind:<13}{a.created_at:%Y-%m-%d %H:%M} UTC"
            f"{_figure(shared):>8}{_figure(adapted):>9}  {a.served_version}"
        )
    print("* serving" if serving else "the shared model serves (no version is marked)")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    async def rolled_back() -> Adapter | None:
        async with RedisSettings().client() as redis:
            return await AdapterStore(redis).rollback(args.tenant, args.to)

    now = asyncio.run(rolled_back())
    if now is None:
        print(f"tenant {args.tenant!r}: the shared model serves (within a few seconds)")
    else:
        print(f"tenant {args.tenant!r}: {now.served_version} serves (within a few seconds)")
    return 0


async def _adapt(
    redis: RedisClient, tenant: str, bar: Bar, settled: timedelta, dry_run: bool, by: str
) -> int:
    """Fit, judge and (unless `dry_run`) serve; 0 when a candidate cleared the bar."""
    decisions = await moderator_decisions(redis, tenant)
    if not decisions:
        print(f"tenant {tenant!r}: no moderator decisions yet; nothing changed")
        return 1
    standing = await standing_verdicts(redis, tenant, utc_now() - settled, STANDING_LIMIT)
    # The model the latest decisions were scored by: the one the worker serves now.
    engine, model = decisions[-1].engine, shared_model(decisions[-1].model_version)
    found = examples([*standing, *decisions], engine, model)
    thresholds = (await PolicyStore(redis, Policy()).document(tenant)).policy.thresholds
    vectors = {}
    if len(found) * (1 - LATER_SHARE) >= HEAD_MIN_DECISIONS:
        vectors = await _embeddings(redis, found, engine, model, ModerationSettings())
    print(
        f"tenant {tenant!r}: {len(decisions)} moderator decisions and {len(standing)} machine "
        f"verdicts standing for {settled.total_seconds() / 3600:g} h; {len(found)} comments "
        f"scored by {engine} {model}"
    )
    embed = (lambda texts: np.stack([vectors[t] for t in texts])) if vectors else None
    outcome = adapt(found, thresholds, embed, bar.margin, bar.confidence)
    _report(outcome, bar)
    chosen = outcome.chosen
    if chosen is None:
        print(f"nothing changed: {outcome.why}")
        return 1
    if dry_run:
        print("dry run: nothing changed")
        return 0
    store = AdapterStore(redis)
    adapter = Adapter(
        tenant_id=tenant,
        version=await store.next_version(tenant),
        kind=chosen.kind,
        engine=engine,
        base_model=model,
        labels=outcome.labels,
        weights=chosen.weights,
        bias=chosen.bias,
        band=chosen.band,
        created_at=utc_now(),
        created_by=by,
        evaluation={
            "moderator_decisions": len(decisions),
            "standing_verdicts": len(standing),
            "comments": outcome.decisions,
            "earlier": outcome.earlier,
            "later": outcome.later,
            "shared_agreement": outcome.shared_agreement,
            "agreement": chosen.agreement,
            "gain_lower_bound": chosen.gain_low,
            "margin": bar.margin,
            "confidence": bar.confidence,
        },
    )
    await store.serve(adapter)
    print(f"serving {adapter.kind} as {adapter.served_version} (within a few seconds)")
    return 0


def _report(outcome: Outcome, bar: Bar) -> None:
    print(
        f"fitted on the earlier {outcome.earlier}, judged on the later {outcome.later} "
        f"(split by the time the comments came in)"
    )
    if outcome.shared_agreement is None:
        return
    print("agreement with the moderators on the later decisions:")
    print(f"  {'shared model (policy thresholds)':<34}{outcome.shared_agreement:.3f}")
    for c in outcome.candidates:
        gain = c.agreement - outcome.shared_agreement
        band = f"review {c.band.review:.2f}, reject {c.band.reject:.2f}"
        print(
            f"  {c.kind:<34}{c.agreement:.3f} (gain {gain:+.3f}, at least {c.gain_low:+.3f} "
            f"at {bar.confidence:.0%}; {band})"
        )
    print(f"to serve: a gain of at least {bar.margin:.3f}, and above zero at {bar.confidence:.0%}")


async def _embeddings(
    redis: RedisClient, found: list[Example], engine: str, model: str, settings: ModerationSettings
) -> dict[str, Vectors]:
    """Each text's embedding from the worker's score cache; those it no longer holds are
    encoded here by the same model."""
    texts = list(dict.fromkeys(e.text for e in found))
    key = redis_keys.model_key(engine, model)
    async with redis.pipeline(transaction=False) as pipe:
        for text in texts:
            pipe.hget(redis_keys.score(key, redis_keys.text_hash(text)), "embedding")
        cached: list[bytes | None] = await pipe.execute()
    vectors = {
        t: np.frombuffer(raw, np.float32) for t, raw in zip(texts, cached, strict=True) if raw
    }
    missing = [t for t in texts if t not in vectors]
    if missing:
        vectors.update(_encode(missing, engine, model, settings))
    return vectors


def _encode(
    texts: list[str], engine: str, model: str, settings: ModerationSettings
) -> dict[str, Vectors]:
    from services.moderation.engines import load_engine

    loaded = load_engine(engine, settings)
    if loaded.model_version != model:
        raise RuntimeError(
            f"the decisions were scored by {engine} {model}, this machine has "
            f"{loaded.model_version}: its embeddings would not match"
        )
    return dict(zip(texts, loaded.embed(texts), strict=True))


def _figure(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-"
