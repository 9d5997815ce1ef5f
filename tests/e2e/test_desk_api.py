"""Policies changed over HTTP take effect in the running worker; desk decisions flow through
comments.moderated; sign-in, CSRF, tenant scoping, history and audit."""

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.moderation.scoring.relevance import shipped_floor
from services.moderation.scoring.thresholds import shipped_thresholds
from tests.conftest import unique
from tests.e2e.desk_helpers import (
    Moderator,
    add_moderator,
    put_article,
    signed_in,
    status,
    submit,
    wait_status,
)
from tests.processes import System, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture
def moderator(system: System, redis_url: str) -> Moderator:
    return add_moderator(redis_url, unique("tenant"))


def policies(system: System, moderator: Moderator, path: str = "") -> str:
    return f"{system.publisher.url}/v1/policies/{moderator.tenant}{path}"


def put_policy(
    system: System, moderator: Moderator, body: dict[str, object], path: str = ""
) -> httpx.Response:
    return httpx.put(policies(system, moderator, path), json=body, auth=moderator.auth)


def test_a_new_tenant_gets_the_documented_defaults(system: System, moderator: Moderator) -> None:
    document = httpx.get(policies(system, moderator), auth=moderator.auth).json()
    assert document["stored"] is False
    policy = document["policy"]
    assert policy["thresholds"] == {
        label: {"review": review, "reject": reject}
        for label, (review, reject) in shipped_thresholds().items()
    }
    assert policy["relevance_floor"] == shipped_floor()
    assert policy["links"] == "hold"
    assert policy["hold_repeated_posts"] is True
    assert policy["new_author_min_approved"] == 0
    assert policy["premoderation"] is False


def test_policy_api_needs_a_moderator_of_the_tenant(
    system: System, moderator: Moderator, redis_url: str
) -> None:
    assert httpx.get(policies(system, moderator)).status_code == 401
    wrong = httpx.get(policies(system, moderator), auth=(moderator.username, "wrong password"))
    assert wrong.status_code == 401
    other = add_moderator(redis_url, unique("elsewhere"))
    assert httpx.get(policies(system, moderator), auth=other.auth).status_code == 403
    reader = add_moderator(redis_url, moderator.tenant, admin=False)
    assert httpx.get(policies(system, moderator), auth=reader.auth).status_code == 200
    assert put_policy(system, reader, {"premoderation": True}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"thresholds": {"toxicity": {"review": 0.9, "reject": 0.5}}}, "thresholds.toxicity"),
        (
            {"thresholds": {"toxicity": {"review": 0.5, "reject": 1.5}}},
            "thresholds.toxicity.reject",
        ),
        ({"banned_words": ["fine", "re:(broken"]}, "banned_words"),
        ({"links": "sometimes"}, "links"),
        ({"relevance_floor": "high"}, "relevance_floor"),
    ],
)
def test_an_invalid_policy_is_refused_naming_the_field(
    system: System, moderator: Moderator, body: dict[str, object], field: str
) -> None:
    response = put_policy(system, moderator, body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert httpx.get(policies(system, moderator), auth=moderator.auth).json()["stored"] is False


def test_a_policy_change_takes_effect_without_restart_and_is_recorded(
    system: System, moderator: Moderator
) -> None:
    tenant, article = moderator.tenant, unique("a")
    text = "The C0\u200bUNC1L met again on Tuesday"
    before = wait_status(system, tenant, submit(system, tenant, article, text))
    assert before["status"] == "released"  # the worker has this tenant's policy cached now
    response = put_policy(system, moderator, {"banned_words": ["council"], "links": "allow"})
    assert response.status_code == 200
    changed = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        state = wait_status(system, tenant, submit(system, tenant, article, f"{text} {attempt}"))
        if state["status"] == "rejected" or time.monotonic() - changed > 10:
            break
    assert state["status"] == "rejected"
    assert time.monotonic() - changed < 10
    reason = state["reasons"][0]
    assert (reason["code"], reason["label"]) == ("banned_word", "council")
    start, end = reason["span"]
    assert text[start:end] == "C0\u200bUNC1L"

    changes = httpx.get(policies(system, moderator, "/changes"), auth=moderator.auth).json()
    assert changes[0]["changed_by"] == moderator.username
    assert changes[0]["scope"] == "tenant"
    assert changes[0]["before"] is None
    assert changes[0]["after"]["banned_words"] == ["council"]
    put_policy(system, moderator, {"banned_words": ["council", "moron"]})
    latest = httpx.get(policies(system, moderator, "/changes"), auth=moderator.auth).json()[0]
    assert latest["before"]["banned_words"] == ["council"]
    assert latest["after"]["banned_words"] == ["council", "moron"]


def test_closed_article_and_section_premoderation_apply_to_their_comments_only(
    system: System, moderator: Moderator
) -> None:
    tenant = moderator.tenant
    closed, sport, other = unique("closed"), unique("sport"), unique("news")
    put_article(system, tenant, sport, "Cup final tonight", section="sport")
    assert put_policy(system, moderator, {"closed": True}, f"/articles/{closed}").status_code == 200
    assert (
        put_policy(system, moderator, {"premoderation": True}, "/sections/sport").status_code == 200
    )
    document = httpx.get(policies(system, moderator), auth=moderator.auth).json()
    assert document["articles"][closed] == {"closed": True}
    assert document["sections"]["sport"] == {"premoderation": True}

    on_closed = wait_status(system, tenant, submit(system, tenant, closed, "Late thoughts"))
    assert on_closed["status"] == "rejected"
    assert on_closed["reasons"][0]["code"] == "article_closed"
    assert on_closed["reasons"][0]["detail"] == "comments on this article are closed"
    on_sport = wait_status(
        system, tenant, submit(system, tenant, sport, "Cup final tonight, come on!")
    )
    assert [r["code"] for r in on_sport["reasons"]] == ["premoderation"]
    elsewhere = wait_status(system, tenant, submit(system, tenant, other, "A calm remark"))
    assert elsewhere["status"] == "released"


def test_the_same_text_twice_from_one_author_is_held(system: System, moderator: Moderator) -> None:
    tenant, article = moderator.tenant, unique("a")
    first = wait_status(system, tenant, submit(system, tenant, article, "Vote them all out", "rep"))
    again = wait_status(
        system, tenant, submit(system, tenant, article, "vote  them ALL out", "rep")
    )
    other = wait_status(system, tenant, submit(system, tenant, article, "Vote them all out", "x"))
    assert first["status"] == "released"
    assert again["status"] == "held"
    assert again["reasons"][0]["code"] == "repeated_post"
    assert other["status"] == "released"


def test_desk_decision_releases_through_the_one_path_with_history_and_audit(
    system: System, moderator: Moderator
) -> None:
    tenant, article = moderator.tenant, unique("a")
    assert put_policy(system, moderator, {"new_author_min_approved": 1}).status_code == 200
    held_id = submit(system, tenant, article, "First time here, hello all", "newbie")
    held = wait_status(system, tenant, held_id)
    assert held["status"] == "held"
    assert held["reasons"][0]["code"] == "new_author"

    with signed_in(system, moderator) as (client, csrf):
        body = {"tenant": tenant, "comment_ids": [held_id], "action": "approve"}
        assert client.post("/moderate/decide", json=body).status_code == 403  # no CSRF token
        response = client.post("/moderate/decide", json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 202, response.text
    released = wait_status(system, tenant, held_id, "released")
    assert released["decided_by"] == moderator.username
    # Approving what the machine held for a new author goes against it, on that reason.
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(
            httpx.get(f"{system.publisher.url}/metrics").text
        )
        for sample in family.samples
    }
    by_tenant = (("tenant", tenant),)
    assert samples[("moderation_human_decisions_total", by_tenant)] == 1
    overruled = (("reason", "new_author"), *by_tenant)
    assert samples[("moderation_human_overrule_total", overruled)] == 1
    # The held share's count, and the one held comment's wait for a moderator.
    held_count = (*by_tenant, ("verdict", "review"))
    assert samples[("moderation_machine_verdicts_total", held_count)] == 1
    assert samples[("moderation_held_wait_seconds_count", by_tenant)] == 1
    assert samples[("moderation_held_wait_seconds_sum", by_tenant)] > 0
    assert released["reasons"][0]["code"] == "moderator"
    feed = httpx.get(
        f"{system.publisher.url}/v1/articles/{article}/comments", params={"tenant": tenant}
    ).json()
    assert [c["comment_id"] for c in feed["comments"]] == [held_id]

    history = httpx.get(
        f"{system.publisher.url}/v1/comments/{held_id}/history",
        params={"tenant": tenant},
        auth=moderator.auth,
    ).json()
    assert [(h["verdict"], h["decided_by"]) for h in history] == [
        ("review", "system"),
        ("approved", moderator.username),
    ]
    # One approved comment: the author is no longer new.
    second = wait_status(system, tenant, submit(system, tenant, article, "Me again", "newbie"))
    assert second["status"] == "released"

    audit = httpx.get(f"{system.publisher.url}/v1/audit/{tenant}", auth=moderator.auth).json()
    actions = [(e["action"], e["moderator"]) for e in audit]
    assert ("decide", moderator.username) in actions
    assert ("sign_in", moderator.username) in actions
    assert ("policy_change", moderator.username) in actions


def test_a_rejection_needs_a_listed_reason_and_can_be_undone_in_time(
    system: System, moderator: Moderator
) -> None:
    tenant, article = moderator.tenant, unique("a")
    assert put_policy(system, moderator, {"premoderation": True}).status_code == 200
    comment = submit(system, tenant, article, "Please hold me")
    wait_status(system, tenant, comment, "held")
    with signed_in(system, moderator) as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        body = {"tenant": tenant, "comment_ids": [comment], "action": "reject"}
        assert client.post("/moderate/decide", json=body, headers=headers).status_code == 422
        body["category"] = "scams_and_fraud"
        assert client.post("/moderate/decide", json=body, headers=headers).status_code == 202
        undone = client.post(
            "/moderate/undo", json={"tenant": tenant, "comment_ids": [comment]}, headers=headers
        ).json()
        assert undone == {"undone": [comment], "too_late": []}
        body["note"] = "selling things"
        assert client.post("/moderate/decide", json=body, headers=headers).status_code == 202
    rejected = wait_status(system, tenant, comment, "rejected")
    assert rejected["reasons"][0] == {
        "code": "moderator",
        "label": "scams_and_fraud",
        "score": None,
        "threshold": None,
        "detail": "selling things",
        "span": None,
    }
    assert status(system, tenant, comment) is not None


def test_desk_pages_need_a_session_and_send_security_headers(
    system: System, moderator: Moderator
) -> None:
    anonymous = httpx.get(f"{system.publisher.url}/moderate")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/moderate/login")
    login = httpx.get(f"{system.publisher.url}/moderate/login")
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert "script-src 'self'" in login.headers["content-security-policy"]
    assert login.headers["x-content-type-options"] == "nosniff"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie

    with signed_in(system, moderator) as (client, _):
        other = client.get("/moderate", params={"tenant": unique("not-mine")})
        assert other.status_code == 403
    bad = httpx.post(
        f"{system.publisher.url}/moderate/login",
        data={"username": moderator.username, "password": "nope", "csrf_token": "x"},
    )
    assert bad.status_code == 401


def test_queue_lists_held_comments_escaped_with_highlights(
    system: System, moderator: Moderator
) -> None:
    tenant, article = moderator.tenant, unique("a")
    assert put_policy(system, moderator, {"suspect_words": ["bitcoin"]}).status_code == 200
    body = 'Free bitcoin <script>alert("x")</script>'
    comment = submit(system, tenant, article, body)
    wait_status(system, tenant, comment, "held")
    with signed_in(system, moderator) as (client, _):

        def queue_page() -> str | None:
            text = client.get("/moderate", params={"tenant": tenant}).text
            return text if comment in text else None

        page = wait_for(queue_page, what="the held comment on the desk")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert '<mark class="hit hit-suspect_word" title="suspect word: bitcoin">bitcoin</mark>' in page
