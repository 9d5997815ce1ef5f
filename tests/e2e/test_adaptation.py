"""Two simulated newsrooms teach the machine their own line, through the real services.

One site's moderators remove every comment with profanity; the other lets profanity through
and removes insults. Each works its desk as moderators do: decides what the machine held,
reinstates what it rejected wrongly, takes down what it released wrongly, with 5% of their
calls going the other way. Comments and labels: the Jigsaw Wikipedia talk-page samples with
six labels (../shared/data/jigsaw_toxic_wiki_samples; CC0 labels, CC BY-SA text). The shared
model saw many of these texts in training; what is measured here is what each site's adapter
adds on comments it was not fitted on.
"""

import csv
import gzip
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from services.moderation.adaptation import ADAPTER_MARK
from tests.conftest import unique
from tests.e2e.desk_helpers import Moderator, add_moderator, signed_in
from tests.processes import ROOT, System, service_env, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

DATA = ROOT.parent / "shared" / "data" / "jigsaw_toxic_wiki_samples" / "train.csv.gz"
NOISE = 0.05
REPORT = ROOT / ".data" / "test-logs" / "adaptation-simulation.txt"  # the figures, for a reader
# Of each kind: to fit on (the sites' first weeks), then the later comments that judge.
EARLIER = {"clean": 85, "profane": 60, "insult": 45, "both": 50, "other_toxic": 60}
LATER = {"clean": 60, "profane": 40, "insult": 30, "both": 30, "other_toxic": 40}
# Sent to a site that has not adapted, while the other has: its verdicts must not change.
CHECK = {"clean": 20, "both": 10, "other_toxic": 10}


@dataclass(frozen=True)
class Labelled:
    text: str
    profane: bool
    insult: bool


SITES: dict[str, Callable[[Labelled], bool]] = {
    "no-profanity": lambda c: c.profane,
    "no-insults": lambda c: c.insult,
}


def kind(row: dict[str, str]) -> str:
    profane, insult = row["obscene"] == "1.0", row["insult"] == "1.0"
    if profane and insult:
        return "both"
    if profane or insult:
        return "profane" if profane else "insult"
    return "other_toxic" if row["toxic"] == "1.0" else "clean"


def comments() -> tuple[list[Labelled], list[Labelled], list[Labelled]]:
    """The earlier, the later and the check comments: a fixed sample of each kind."""
    if not DATA.is_file():
        pytest.skip(f"the development data is not here: {DATA}")
    with gzip.open(DATA, "rt", encoding="utf-8", newline="") as source:
        rows = [
            r
            for r in csv.DictReader(source)
            if r["insult"] and 20 < len(r["text"]) < 700 and "http" not in r["text"]
        ]
    rng = random.Random(7)
    rng.shuffle(rows)
    pools: dict[str, list[Labelled]] = {}
    for r in rows:
        labelled = Labelled(r["text"], r["obscene"] == "1.0", r["insult"] == "1.0")
        pools.setdefault(kind(r), []).append(labelled)
    taken: dict[str, int] = {}

    def take(counts: dict[str, int]) -> list[Labelled]:
        chosen = []
        for k, n in counts.items():
            start = taken.get(k, 0)
            chosen += pools[k][start : start + n]
            taken[k] = start + n
        rng.shuffle(chosen)
        return chosen

    return take(EARLIER), take(LATER), take(CHECK)


def submit_all(system: System, tenant: str, batch: list[Labelled]) -> list[str]:
    """Each comment by an author of its own (no repeated-post rule), in one article."""
    article, ids = unique("a"), []
    for start in range(0, len(batch), 100):
        payload = {
            "comments": [
                {
                    "article_id": article,
                    "author": {"id": (a := unique("r")), "display_name": a},
                    "body": c.text,
                }
                for c in batch[start : start + 100]
            ]
        }
        response = httpx.post(
            f"{system.ingest.url}/v1/comments", json=payload, headers=system.headers(tenant)
        )
        assert response.status_code == 202, response.text
        ids += response.json()["accepted"]
    return ids


def statuses(
    system: System, tenant: str, ids: list[str], wanted: Callable[[dict[str, object]], bool]
) -> dict[str, dict[str, object]]:
    """Each comment's status once `wanted` holds for all of them."""
    found: dict[str, dict[str, object]] = {}

    def check() -> dict[str, dict[str, object]] | None:
        with httpx.Client(base_url=system.publisher.url, headers=system.headers(tenant)) as client:
            for comment_id in ids:
                if comment_id in found and wanted(found[comment_id]):
                    continue
                response = client.get(f"/v1/comments/{comment_id}")
                if response.status_code == 200:
                    found[comment_id] = response.json()
        ready = all(i in found and wanted(found[i]) for i in ids)
        return found if ready else None

    return wait_for(check, timeout=180, what=f"{len(ids)} comments of {tenant}")


def machine_verdicts(system: System, tenant: str, ids: list[str]) -> dict[str, dict[str, object]]:
    return statuses(system, tenant, ids, lambda s: s["decided_by"] == "system")


def work_the_desk(
    system: System,
    moderator: Moderator,
    batch: list[Labelled],
    ids: list[str],
    removes: Callable[[Labelled], bool],
) -> int:
    """What the site's moderators do with the machine's verdicts; returns their decisions."""
    noise = random.Random(f"{NOISE}-{moderator.tenant.rsplit('-', 1)[0]}")
    seen = machine_verdicts(system, moderator.tenant, ids)
    approve: list[str] = []
    reject: list[str] = []
    for comment, comment_id in zip(batch, ids, strict=True):
        remove = removes(comment) != (noise.random() < NOISE)
        state = seen[comment_id]["status"]
        if state == "held" or (state == "released") == remove:
            (reject if remove else approve).append(comment_id)
    with signed_in(system, moderator) as (client, csrf):
        for action, chosen in (("approve", approve), ("reject", reject)):
            for start in range(0, len(chosen), 200):
                body = {
                    "tenant": moderator.tenant,
                    "comment_ids": chosen[start : start + 200],
                    "action": action,
                    "category": "illegal_or_harmful_speech" if action == "reject" else None,
                }
                response = client.post(
                    "/moderate/decide", json=body, headers={"X-CSRF-Token": csrf}
                )
                assert response.status_code == 202, response.text
    decided = set(approve + reject)
    statuses(
        system,
        moderator.tenant,
        list(decided),
        lambda s: s["decided_by"] == moderator.username,
    )
    return len(decided)


def agreement(
    system: System, tenant: str, batch: list[Labelled], removes: Callable[[Labelled], bool]
) -> tuple[float, set[str], dict[str, str]]:
    """The share of fresh comments on which the machine's verdict (published or not) is the
    site's, the model versions that decided, and the verdict per text."""
    ids = submit_all(system, tenant, batch)
    seen = machine_verdicts(system, tenant, ids)
    agreed = [
        (seen[i]["status"] == "released") != removes(c) for c, i in zip(batch, ids, strict=True)
    ]
    versions = {str(seen[i]["model_version"]) for i in ids}
    verdicts = {c.text: str(seen[i]["verdict"]) for c, i in zip(batch, ids, strict=True)}
    return sum(agreed) / len(agreed), versions, verdicts


def wait_until_served(system: System, tenant: str, probe: Labelled, version: str) -> None:
    """Until a fresh comment of the tenant is decided by `version`: the worker reads a tenant's
    serving adapter again every 2 s (`modctl adapt` says "within a few seconds")."""

    def served() -> bool | None:
        ids = submit_all(system, tenant, [probe])
        decided = str(machine_verdicts(system, tenant, ids)[ids[0]]["model_version"])
        return True if decided.endswith(version) else None

    wait_for(served, timeout=60, what=f"{tenant}'s comments decided by {version}")


def adapt(system: System, tenant: str, *flags: str) -> tuple[int, str, float]:
    env = service_env(system.kafka, system.redis_url)
    started = time.perf_counter()
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "modctl"), "adapt", tenant, "--settled-hours", "0", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.returncode, run.stdout + run.stderr, time.perf_counter() - started


def test_each_newsroom_teaches_the_machine_its_line_and_only_its_own(
    system: System, redis_url: str
) -> None:
    earlier, later, check = comments()
    moderators = {site: add_moderator(redis_url, unique(site)) for site in SITES}
    for site, moderator in moderators.items():
        ids = submit_all(system, moderator.tenant, earlier)
        assert work_the_desk(system, moderator, earlier, ids, SITES[site]) > 100
    # The shared model's verdicts on the later comments, from a tenant that never adapts: a
    # site's own comments would become its data before it adapts.
    control = unique("control")
    before = {site: agreement(system, control, later, rule)[0] for site, rule in SITES.items()}
    _, versions, shared_verdicts = agreement(system, control, check, SITES["no-insults"])
    assert not any(ADAPTER_MARK in v for v in versions)

    profanity, insults = moderators["no-profanity"], moderators["no-insults"]
    code, output, _ = adapt(system, insults.tenant, "--dry-run")
    assert code == 0, output
    assert "agreement with the moderators" in output
    assert "dry run: nothing changed" in output
    code, output, seconds = adapt(system, profanity.tenant)
    assert code == 0, output
    report = [f"$ modctl adapt {profanity.tenant} ({seconds:.1f} s)", output]
    assert f"{ADAPTER_MARK}{profanity.tenant}.1 (within a few seconds)" in output
    wait_until_served(system, profanity.tenant, check[0], f"{ADAPTER_MARK}{profanity.tenant}.1")

    after_profanity, versions, _ = agreement(system, profanity.tenant, later, SITES["no-profanity"])
    assert versions
    assert all(v.endswith(f"{ADAPTER_MARK}{profanity.tenant}.1") for v in versions)
    # The other newsroom is untouched, its dry run included: the shared model's verdicts.
    _, versions, verdicts = agreement(system, insults.tenant, check, SITES["no-insults"])
    assert not any(ADAPTER_MARK in v for v in versions)
    assert verdicts == shared_verdicts

    code, output, seconds = adapt(system, insults.tenant)
    assert code == 0, output
    report += [f"$ modctl adapt {insults.tenant} ({seconds:.1f} s)", output]
    wait_until_served(system, insults.tenant, check[0], f"{ADAPTER_MARK}{insults.tenant}.1")
    after_insults, versions, _ = agreement(system, insults.tenant, later, SITES["no-insults"])
    assert all(v.endswith(f"{ADAPTER_MARK}{insults.tenant}.1") for v in versions)

    report.append(
        f"agreement on {len(later)} later comments: no-profanity "
        f"{before['no-profanity']:.3f} -> {after_profanity:.3f}, no-insults "
        f"{before['no-insults']:.3f} -> {after_insults:.3f}"
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(report) + "\n", encoding="utf-8")
    assert after_profanity >= before["no-profanity"] + 0.08
    assert after_insults >= before["no-insults"] + 0.08
