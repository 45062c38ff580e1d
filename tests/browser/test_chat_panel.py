"""The chat side panel in headless Chromium: automatic analysis, streaming, feedback, phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from metrics.db import connect
from tests.browser.conftest import AS_OF, Console, LiveServer, open_dashboard, settle

ANSWER = ".msg.assistant[aria-busy='false']"


def test_the_panel_opens_with_an_analysis_of_the_view(page: Any, server: Any, api: Any) -> None:
    open_dashboard(page, server.url)
    first = page.locator(ANSWER).first
    first.wait_for(timeout=60_000)
    text = first.inner_text()
    risks = api("risks")
    assert "At-risk projects" in text and "Blockers" in text
    assert "What would most improve engagement" in text
    assert risks["projects"][0]["project"] in text
    assert f"{risks['counts']['overdue_tasks']:,} projects with overdue tasks" in text
    assert "grounded" in first.locator(".meta").inner_text()
    assert "get_risks" in first.locator(".tool-details").text_content()


def test_a_typed_question_streams_an_answer_with_the_api_figure(
    page: Any, server: Any, api: Any, artifacts: Path
) -> None:
    open_dashboard(page, server.url)
    page.locator(ANSWER).first.wait_for(timeout=60_000)
    page.fill("#question", "How many logins in the last 30 days?")
    with page.expect_response("**/api/ask/stream") as streamed:
        page.press("#question", "Enter")
    assert streamed.value.headers["content-type"].startswith("text/event-stream")
    answer = page.locator(ANSWER).nth(1)
    answer.wait_for(timeout=60_000)
    logins = api("kpis", range="last_30_days")["kpis"]["logins"]
    assert f"{logins:,}" in answer.locator(".answer").inner_text()
    assert page.input_value("#question") == ""
    cell = answer.locator('[data-table="kpis"] td[data-key="logins"]')
    assert cell.inner_text() == f"{logins:,}"
    assert "get_kpis" in answer.locator(".tool-details").text_content()

    # the conversation is kept: a follow-up reuses the previous question's tool
    page.fill("#question", "and last month?")
    page.click("#send")
    follow = page.locator(ANSWER).nth(2)
    follow.wait_for(timeout=60_000)
    last_month = api("kpis", range="last_month")["kpis"]["logins"]
    assert f"{last_month:,}" in follow.locator(".answer").inner_text()

    answer.locator("button", has_text="Right").click()
    page.wait_for_selector(f"{ANSWER} >> text=Thanks — marked right.")
    assert answer.locator("button", has_text="Right").get_attribute("aria-pressed") == "true"
    page.screenshot(path=str(artifacts / "chat-1366x768.png"))


def test_suggestions_follow_the_filters_and_view(page: Any, server: Any) -> None:
    open_dashboard(page, server.url, "range=this_quarter")
    page.wait_for_selector("#suggestions button:has-text('this quarter')")
    page.locator("#leaderboard").scroll_into_view_if_needed()
    page.wait_for_selector("#suggestions button:has-text('top partners this quarter')")


def test_phone_width_puts_the_panel_in_a_drawer(browser: Any, server: Any, artifacts: Path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    console = Console(page)
    open_dashboard(page, server.url)
    assert not page.locator("#chat").is_visible()
    page.screenshot(path=str(artifacts / "dashboard-phone.png"))
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    page.click("#chat-toggle")
    page.locator("#chat").wait_for(state="visible")
    page.locator(ANSWER).first.wait_for(timeout=60_000)
    assert page.evaluate("() => document.activeElement.id") == "question"
    page.screenshot(path=str(artifacts / "chat-phone.png"))
    page.keyboard.press("Escape")
    page.locator("#chat").wait_for(state="hidden")
    assert page.get_attribute("#chat-toggle", "aria-expanded") == "false"
    settle(page)
    context.close()
    assert not console.errors, console.errors


def keyed_app(demo_url: str) -> tuple[Any, str]:
    """An app that requires an API key, and a key it accepts."""
    from server import Config, create_app
    from web.auth import create_key

    engine = connect(demo_url)
    with engine.begin() as conn:
        key, _ = create_key(conn, "default", "browser test")
    engine.dispose()
    return create_app(Config(database_url=demo_url, require_keys=True)), key


def test_a_401_asks_for_the_api_key_and_retries(browser: Any, demo_url: str) -> None:
    app, key = keyed_app(demo_url)
    with LiveServer(app) as live:
        assert httpx.get(f"{live.url}/api/metrics/kpis").status_code == 401
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        console = Console(page, allow=("401",))
        page.goto(f"{live.url}/?as_of={AS_OF}")
        page.wait_for_selector("#key-dialog[open]")
        page.fill("#key-input", "pp_wrong")
        page.press("#key-input", "Enter")
        page.wait_for_selector("#key-dialog[open] >> text=not accepted")
        page.fill("#key-input", key)
        page.click("#key-dialog button[value=ok]")
        page.wait_for_selector('#kpis[aria-busy="false"] .kpi')
        assert page.evaluate("() => sessionStorage.getItem('portalpulse.apiKey')") == key
        settle(page)
        context.close()
        assert not console.errors, console.errors
