"""The desk in a real headless Chromium (Debian's, driven by Playwright): sign in, read why a
comment was held, decide with the keyboard and in bulk, untrusted text stays text, live updates,
the insights page's charts on a laptop and a tablet. Screenshots of the queue, an item and the
insights page go to docs/screenshots/ for the README."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, ViewportSize, expect, sync_playwright

from services.modctl.demo_desk import DEMO_MODERATOR, decide_on_desk, prepare
from services.modctl.seed import comment_id, load_seed
from tests.conftest import unique
from tests.e2e.desk_helpers import (
    Moderator,
    add_moderator,
    put_article,
    run_async,
    submit,
    wait_status,
)
from tests.processes import ROOT, System

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
DEMO = [
    ROOT / "examples" / "demo" / name
    for name in ("000_c2484b3214b686ee.txt", "001_city_budget.txt")
]
TIMEOUT_MS = 30_000
LAPTOP = ViewportSize(width=1366, height=900)
TABLET = ViewportSize(width=768, height=1024)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run deploy/desk/install-browser.sh (`make test` does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Browser) -> Page:
    """A page in a context of its own: a second one is a second moderator's browser."""
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def sign_in(page: Page, system: System, username: str, password: str) -> None:
    page.goto(f"{system.publisher.url}/moderate")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("nav.tabs")).to_be_visible()


def premoderated(system: System, redis_url: str) -> Moderator:
    """A tenant that holds every comment (none is abusive enough to reject), and its
    moderator."""
    moderator = add_moderator(redis_url, unique("tenant"))
    response = httpx.put(
        f"{system.publisher.url}/v1/policies/{moderator.tenant}",
        json={"premoderation": True, "thresholds": {"toxicity": {"review": 0.5, "reject": 1.0}}},
        auth=moderator.auth,
    )
    assert response.status_code == 200, response.text
    return moderator


def move_to(page: Page, comment: str) -> None:
    """j/k until the comment's row is the current one."""
    row = page.locator(f"#item-{comment}")
    for key in ["k"] * 20 + ["j"] * 40:
        if "current" in (row.get_attribute("class") or ""):
            return
        page.keyboard.press(key)
    pytest.fail(f"could not reach {comment} with j/k")


def test_sign_in_see_why_held_approve_with_the_keyboard_and_find_it_in_the_feed(
    system: System, redis_url: str, browser: Browser
) -> None:
    tenant = unique("demo")
    password = run_async(prepare(tenant, redis_url))
    articles = [load_seed(path, system.ingest.url, system.key(tenant)) for path in DEMO]
    budget = articles[1]
    ids = {c.author: comment_id(budget.article_id, c) for c in budget.comments}
    spam, abuse = ids["CryptoKing"], ids["Angry Voter"]
    for comment in ids.values():
        wait_status(system, tenant, comment)
    assert wait_status(system, tenant, abuse)["status"] == "held"

    page = new_page(browser)
    sign_in(page, system, DEMO_MODERATOR, password)
    page.goto(f"{system.publisher.url}/moderate?tenant={tenant}")
    marks = page.locator(f"#item-{abuse} mark.hit-suspect_word")
    expect(marks).to_have_text(["1d10t", "m0rons"])
    expect(page.locator(f"#item-{spam} .reason-off_topic")).to_contain_text("relevance")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "desk-queue.png"))

    page.click(f"#item-{abuse} a.open")
    expect(page.locator("table.scores-table")).to_contain_text("toxicity")
    expect(page.locator("table.history")).to_contain_text("system")
    page.screenshot(path=str(SCREENSHOTS / "desk-item.png"), full_page=True)
    page.go_back()

    # The spam comment is off-topic only in the eyes of the relevance model: approve it.
    move_to(page, spam)
    page.keyboard.press("a")
    expect(page.locator("#toast")).to_contain_text("Approved 1 comment")
    expect(page.locator(f"#item-{spam}")).to_be_hidden()
    released = wait_status(system, tenant, spam, "released")
    assert released["decided_by"] == DEMO_MODERATOR
    feed = httpx.get(
        f"{system.publisher.url}/v1/articles/{budget.article_id}/comments",
        params={"tenant": tenant},
    ).json()
    assert spam in [c["comment_id"] for c in feed["comments"]]
    page.context.close()


def test_bulk_reject_three_with_a_reason(system: System, redis_url: str, browser: Browser) -> None:
    moderator = premoderated(system, redis_url)
    tenant, article = moderator.tenant, unique("a")
    comments = [
        submit(system, tenant, article, f"Buy followers cheap, offer {n}") for n in range(3)
    ]
    keep = submit(system, tenant, article, "A thoughtful remark about the article")
    for comment in [*comments, keep]:
        wait_status(system, tenant, comment, "held")

    page = new_page(browser)
    sign_in(page, system, moderator.username, moderator.password)
    for comment in comments:
        move_to(page, comment)
        page.keyboard.press("x")
    expect(page.locator(".item .select:checked")).to_have_count(3)
    page.keyboard.press("r")
    page.select_option("#reject-category", "scams_and_fraud")
    page.fill("#reject-note", "follower spam")
    page.click("#reject-confirm")
    expect(page.locator("#toast")).to_contain_text("Rejected 3 comments")
    for comment in comments:
        state = wait_status(system, tenant, comment, "rejected")
        assert state["reasons"][0]["label"] == "scams_and_fraud"
        assert state["reasons"][0]["detail"] == "follower spam"
    assert wait_status(system, tenant, keep)["status"] == "held"
    page.context.close()


def test_markup_in_a_comment_is_shown_as_text(
    system: System, redis_url: str, browser: Browser
) -> None:
    moderator = premoderated(system, redis_url)
    body = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">hello'
    comment = submit(system, moderator.tenant, unique("a"), body)
    wait_status(system, moderator.tenant, comment, "held")

    page = new_page(browser)
    sign_in(page, system, moderator.username, moderator.password)
    row = page.locator(f"#item-{comment}")
    expect(row.locator(".body")).to_have_text(body)
    assert row.locator(".body img, .body script").count() == 0
    assert page.evaluate("window.pwned") is None
    page.click(f"#item-{comment} a.open")
    expect(page.locator("article.detail .body")).to_have_text(body)
    assert page.evaluate("window.pwned") is None
    page.context.close()


XSS_BODY = " ".join(
    [
        "<script>window.__xss = 'script'; alert('script')</script>",
        "<img src=x onerror=\"window.__xss = 'img'; alert('img')\">",
        "\"><svg onload=\"window.__xss = 'svg'; alert('svg')\">",
        "<a href=\"javascript:alert('link')\">click me</a>",
        "{{7*7}} ${7*7} {% raw %}",
        "' onmouseover='alert(1)' x='",
    ]
)
XSS_AUTHOR = "<img src=x onerror=alert('author')>\"><svg onload=alert('author2')>{{7*7}}"
XSS_TITLE = "<script>alert('title')</script>\"><svg onload=alert('title2')>{{7*7}}"


def assert_shown_literally(page: Page, scope: str, dialogs: list[str]) -> None:
    """Every payload is text on the page: no element was injected, nothing ran."""
    area = page.locator(scope)
    for selector in ("script", "img", "svg", "iframe", "a[href^='javascript']"):
        assert area.locator(selector).count() == 0, f"{selector} injected into {scope}"
    assert page.locator("a[href^='javascript'], [onerror], [onload]").count() == 0
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert "{{7*7}}" in area.inner_text()  # not evaluated by a template


def test_xss_payloads_in_comment_author_and_title_stay_text(
    system: System, redis_url: str, browser: Browser
) -> None:
    moderator = premoderated(system, redis_url)
    article = unique("a")
    put_article(system, moderator.tenant, article, XSS_TITLE, url="javascript:alert('url')")
    comment = submit(
        system, moderator.tenant, article, XSS_BODY, author="x-1", display_name=XSS_AUTHOR
    )
    wait_status(system, moderator.tenant, comment, "held")

    page = new_page(browser)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, system, moderator.username, moderator.password)
    row = page.locator(f"#item-{comment}")
    expect(row.locator(".body")).to_have_text(XSS_BODY)
    expect(row.locator(".author")).to_have_text(XSS_AUTHOR)
    expect(row.locator(".title")).to_have_text(XSS_TITLE)
    assert_shown_literally(page, f"#item-{comment}", dialogs)

    page.click(f"#item-{comment} a.open")
    detail = page.locator("article.detail")
    expect(detail.locator(".body")).to_have_text(XSS_BODY)
    expect(detail.locator("h1")).to_contain_text(XSS_AUTHOR)
    expect(detail.locator(".title")).to_have_text(XSS_TITLE)
    assert_shown_literally(page, "main", dialogs)
    page.context.close()


def test_a_second_browser_sees_the_queue_change_live(
    system: System, redis_url: str, browser: Browser
) -> None:
    moderator = premoderated(system, redis_url)
    first, second = new_page(browser), new_page(browser)
    for page in (first, second):
        sign_in(page, system, moderator.username, moderator.password)
        expect(page.locator("body.live")).to_have_count(1)

    comment = submit(system, moderator.tenant, unique("a"), "Arrived while both were watching")
    for page in (first, second):
        expect(page.locator(f"#item-{comment}")).to_be_visible()
        expect(page.locator('[data-count="held"]')).to_have_text("1")

    first.click(f"#item-{comment} button.approve")
    expect(second.locator(f"#item-{comment}")).to_have_count(0)
    wait_status(system, moderator.tenant, comment, "released")
    expect(second.locator('[data-count="held"]')).to_have_text("0")
    for page in (first, second):
        page.context.close()


def assert_charts_fit(page: Page, width: int) -> None:
    """Every chart is drawn, with bars, inside the page: nothing scrolls sideways."""
    charts = page.locator("svg.chart")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 5
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.locator("rect.bar").count() > 0, f"chart {index} has no bars"
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width, f"chart {index} runs past the page"
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"


def test_insights_page_draws_its_charts_on_a_laptop_and_a_tablet(
    system: System, redis_url: str, browser: Browser
) -> None:
    tenant = unique("demo")
    password = run_async(prepare(tenant, redis_url))
    key = system.key(tenant)
    articles = [load_seed(path, system.ingest.url, key) for path in DEMO]
    for article in articles:
        for comment in article.comments:
            wait_status(system, tenant, comment_id(article.article_id, comment))
    decided = decide_on_desk(system.publisher.url, tenant, password, articles, key)
    assert len(decided) == 2  # the demo's two spam comments, rejected on the desk

    page = browser.new_context(viewport=LAPTOP).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, system, DEMO_MODERATOR, password)
    page.click("nav.desk-nav a:has-text('Insights')")
    expect(page.locator("h1")).to_contain_text("Insights")
    expect(page.locator("#agreement")).to_contain_text("overruled the machine in 0 of 2 verdicts")
    expect(page.locator("#held-queue rect.bar.held")).to_have_count(1)  # the one day with data
    expect(page.locator("#models code.version").first).to_be_visible()
    assert_charts_fit(page, LAPTOP["width"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "desk-insights.png"), full_page=True)

    page.set_viewport_size(TABLET)
    page.reload()
    assert_charts_fit(page, TABLET["width"])
    page.select_option("select[name=days]", "91")  # long ranges go by week
    expect(page.locator(".insights-head .span")).to_contain_text("shown by week")
    assert_charts_fit(page, TABLET["width"])
    page.context.close()
