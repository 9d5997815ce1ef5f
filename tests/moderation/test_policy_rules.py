"""Every policy rule: words through their disguises, links, repeats, new authors, modes."""

import pytest
from pydantic import ValidationError

from services.common.contract import Verdict
from services.moderation.policy import (
    Band,
    Context,
    LinkAction,
    Policy,
    PolicyOverride,
    apply_override,
    decide,
)
from services.moderation.textmatch import find_terms, normalise

CLEAN = {"toxicity": 0.1}
WORDS = Policy(banned_words=["idiot", "shut up"], suspect_words=["bitcoin"], links=LinkAction.ALLOW)


def spans(text: str, policy: Policy = WORDS) -> list[tuple[str, str, str]]:
    """(code, listed word, original text of the span) of each word reason."""
    _, reasons = decide(policy, CLEAN, 0.6, text)
    found = []
    for r in reasons:
        assert r.span is not None
        assert r.label is not None
        found.append((r.code, r.label, text[r.span[0] : r.span[1]]))
    return found


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("You idiot.", "idiot"),
        ("You IDIOT!", "IDIOT"),
        ("You 1d10t", "1d10t"),
        ("You !d!ot", None),  # "!" is punctuation, not a letter
        ("You íd\u00efót", "íd\u00efót"),
        ("You id\u200bi\u200dot", "id\u200bi\u200dot"),
        ("You i\u0301diot", "i\u0301diot"),  # a combining accent
        ("You \uff49\uff44\uff49\uff4f\uff54", "\uff49\uff44\uff49\uff4f\uff54"),
        ("idiotic behaviour", None),  # word boundaries: not a part of a longer word
        ("idiots", None),
    ],
)
def test_banned_word_is_found_through_disguises_with_its_span(
    text: str, matched: str | None
) -> None:
    verdict, _ = decide(WORDS, CLEAN, 0.6, text)
    if matched is None:
        assert verdict is Verdict.APPROVED
        return
    assert verdict is Verdict.REJECTED
    assert spans(text) == [("banned_word", "idiot", matched)]


def test_banned_phrase_matches_across_any_spacing() -> None:
    assert spans("Just SHUT   up now") == [("banned_word", "shut up", "SHUT   up")]


def test_suspect_word_holds_and_banned_word_rejects_both_reasons_kept() -> None:
    text = "Buy Bitcoin, idiot"
    verdict, reasons = decide(WORDS, CLEAN, 0.6, text)
    assert verdict is Verdict.REJECTED
    assert [(r.code, r.span) for r in reasons] == [
        ("banned_word", (13, 18)),
        ("suspect_word", (4, 11)),
    ]


def test_suspect_word_alone_holds() -> None:
    verdict, reasons = decide(WORDS, CLEAN, 0.6, "Free b1tc01n here")
    assert verdict is Verdict.REVIEW
    assert reasons[0].code == "suspect_word"
    assert reasons[0].detail == "b1tc01n"


def test_every_occurrence_is_a_span() -> None:
    assert [s[2] for s in spans("idiot and IDIOT")] == ["idiot", "IDIOT"]


def test_regex_entry_matches_the_normalised_text() -> None:
    policy = Policy(banned_words=[r"re:\bfree\s+money\b"], links=LinkAction.ALLOW)
    assert spans("Get FREE   m0ney", policy) == [
        ("banned_word", r"re:\bfree\s+money\b", "FREE   m0ney")
    ]


def test_a_broken_regex_is_refused_naming_the_entry() -> None:
    with pytest.raises(ValidationError, match=r"banned_words[\s\S]*entry 1 .*invalid regular"):
        Policy(banned_words=["ok", "re:(unclosed"])


def test_an_empty_entry_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty entry"):
        Policy(suspect_words=["  "])


def test_normalised_text_maps_back_to_the_original() -> None:
    norm = normalise("\uff28é\u200bllo")
    assert norm.text == "hello"
    assert norm.span(0, 5) == (0, 6)
    assert find_terms("x 1d10t y", ["idiot"])[0].start == 2


@pytest.mark.parametrize(
    ("action", "verdict"),
    [
        (LinkAction.ALLOW, Verdict.APPROVED),
        (LinkAction.HOLD, Verdict.REVIEW),
        (LinkAction.REJECT, Verdict.REJECTED),
    ],
)
def test_links_are_allowed_held_or_rejected(action: LinkAction, verdict: Verdict) -> None:
    text = "See https://spam.example.net/offer now"
    found, reasons = decide(Policy(links=action), CLEAN, 0.6, text)
    assert found is verdict
    if verdict is not Verdict.APPROVED:
        (reason,) = reasons
        assert reason.code == "link"
        assert reason.label == "spam.example.net"
        assert reason.span is not None
        assert text[reason.span[0] : reason.span[1]] == "https://spam.example.net/offer"


def test_bare_domains_count_as_links_and_allowed_domains_pass() -> None:
    policy = Policy(links=LinkAction.HOLD, allowed_domains=["www.ournews.com"])
    assert (
        decide(policy, CLEAN, 0.6, "More at ournews.com/live and www.ournews.com")[0]
        is Verdict.APPROVED
    )
    assert decide(policy, CLEAN, 0.6, "More at cheap-watches.com")[0] is Verdict.REVIEW
    assert decide(policy, CLEAN, 0.6, "Spend 5.5 million. Fine.")[0] is Verdict.APPROVED


def test_repeated_post_is_held() -> None:
    verdict, reasons = decide(Policy(), CLEAN, 0.6, "same", Context(repeats=1))
    assert verdict is Verdict.REVIEW
    assert reasons[0].code == "repeated_post"
    assert (
        decide(Policy(hold_repeated_posts=False), CLEAN, 0.6, "same", Context(repeats=3))[0]
        is Verdict.APPROVED
    )


@pytest.mark.parametrize(
    ("approved", "verdict"), [(0, Verdict.REVIEW), (1, Verdict.REVIEW), (2, Verdict.APPROVED)]
)
def test_new_author_is_held_until_enough_approved_comments(approved: int, verdict: Verdict) -> None:
    policy = Policy(new_author_min_approved=2)
    found, reasons = decide(policy, CLEAN, 0.6, "hello", Context(author_approved=approved))
    assert found is verdict
    if verdict is Verdict.REVIEW:
        assert (reasons[0].code, reasons[0].score, reasons[0].threshold) == (
            "new_author",
            approved,
            2,
        )


def test_new_author_rule_is_off_by_default() -> None:
    assert decide(Policy(), CLEAN, 0.6, "hello", Context(author_approved=0))[0] is Verdict.APPROVED


def test_premoderation_holds_everything_with_a_reason() -> None:
    verdict, reasons = decide(Policy(premoderation=True), CLEAN, 0.9, "Lovely")
    assert verdict is Verdict.REVIEW
    assert [r.code for r in reasons] == ["premoderation"]


def test_closed_article_rejects_first_with_a_clear_reason() -> None:
    policy = Policy(
        closed=True, premoderation=True, thresholds={"toxicity": Band(review=0.5, reject=0.9)}
    )
    verdict, reasons = decide(policy, {"toxicity": 0.6}, 0.6, "Hi")
    assert verdict is Verdict.REJECTED
    assert reasons[0].code == "article_closed"
    assert reasons[0].detail == "comments on this article are closed"
    assert [r.code for r in reasons[1:]] == ["toxicity", "premoderation"]


@pytest.mark.parametrize(
    ("score", "verdict"),
    [
        (0.4999, Verdict.APPROVED),
        (0.5, Verdict.REVIEW),
        (0.8999, Verdict.REVIEW),
        (0.9, Verdict.REJECTED),
        (1.0, Verdict.REJECTED),
    ],
)
def test_review_band_edges(score: float, verdict: Verdict) -> None:
    policy = Policy(thresholds={"toxicity": Band(review=0.5, reject=0.9)})
    assert decide(policy, {"toxicity": score}, 0.6)[0] is verdict


def test_relevance_floor_edge_is_not_below() -> None:
    assert decide(Policy(relevance_floor=0.2), CLEAN, 0.2)[0] is Verdict.APPROVED
    assert decide(Policy(relevance_floor=0.2), CLEAN, 0.1999)[0] is Verdict.REVIEW


def test_band_equal_thresholds_skip_the_review_band() -> None:
    policy = Policy(thresholds={"toxicity": Band(review=0.7, reject=0.7)})
    assert decide(policy, {"toxicity": 0.7}, 0.6)[0] is Verdict.REJECTED


def test_override_merges_thresholds_by_label_and_replaces_the_rest() -> None:
    base = Policy(
        thresholds={
            "toxicity": Band(review=0.5, reject=0.9),
            "insult": Band(review=0.6, reject=0.95),
        },
        banned_words=["idiot"],
    )
    override = PolicyOverride(
        thresholds={"toxicity": Band(review=0.3, reject=0.8)}, premoderation=True
    )
    merged = apply_override(base, override)
    assert merged.thresholds["toxicity"] == Band(review=0.3, reject=0.8)
    assert merged.thresholds["insult"] == Band(review=0.6, reject=0.95)
    assert merged.banned_words == ["idiot"]
    assert merged.premoderation
    assert apply_override(base, None) is base


def test_unknown_policy_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="banned_wordz"):
        Policy.model_validate({"banned_wordz": ["x"]})
