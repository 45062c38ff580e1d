"""The dashboard in headless Chromium: numbers equal the API's, filters, sorting, expanding."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.browser.conftest import AS_OF, HOSTILE, Console, open_dashboard, settle

KPI_KEYS = (
    "invites_sent", "logins", "sessions", "unique_users",
    "avg_session_seconds", "page_views", "actions", "tasks_completed",
)  # fmt: skip


def kpi_values(page: Any) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#kpis .kpi",
        "cards => Object.fromEntries(cards.map(c => [c.dataset.kpi,"
        " c.querySelector('.value').dataset.value]))",
    )


def project_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#projects tbody tr", "rows => rows.map(r => r.dataset.projectId)"
    )


def as_shown(value: Any) -> str:
    return "" if value is None else str(value).removesuffix(".0")


def wait_for_kpi(page: Any, key: str, value: Any) -> None:
    page.wait_for_function(
        "([key, value]) => document.querySelector(`#kpis [data-kpi=${key}] .value`)"
        "?.dataset.value === value",
        arg=[key, as_shown(value)],
    )


def test_the_dashboard_shows_the_api_numbers(page: Any, server: Any, api: Any, artifacts: Path):
    open_dashboard(page, server.url)
    kpis = api("kpis")
    shown = kpi_values(page)
    assert shown == {k: as_shown(kpis["kpis"][k]) for k in KPI_KEYS}
    logins_card = page.inner_text('#kpis [data-kpi="logins"]')
    assert f"{kpis['kpis']['logins']:,}" in logins_card
    assert f"{abs(kpis['change_pct']['logins']):g}%" in logins_card

    projects = api("projects")["projects"]
    ids = project_ids(page)
    assert ids == [p["project_id"] for p in projects]

    summary = api("summary")
    footer = page.inner_text("#projects tfoot")
    assert f"{summary['projects']:,} projects" in footer
    assert f"{summary['tasks_unassigned']:,} unassigned tasks" in footer
    unassigned = page.locator('[data-summary="tasks_unassigned"]')
    assert ("flag" in (unassigned.get_attribute("class") or "")) == summary["tasks_unassigned_flag"]
    overdue = page.locator('[data-summary="tasks_overdue"]')
    assert ("flag" in (overdue.get_attribute("class") or "")) == (summary["tasks_overdue"] > 0)

    board = api("leaderboard")
    partners = page.eval_on_selector_all(
        "#leaderboard tbody tr", "rows => rows.map(r => r.dataset.partnerId)"
    )
    assert partners == [r["partner_id"] for r in board["rows"]]
    assert page.inner_text('#leaderboard tfoot [data-col="sessions"]') == (
        f"{board['footer']['sessions']:,}"
    )

    content = api("content")
    first_resource = page.inner_text("#panel-resources tbody tr:first-child td:first-child")
    assert first_resource == content["resources"][0]["title"]
    risks = api("risks")
    chips = page.eval_on_selector_all(
        "#risk-counts .chip",
        "cs => Object.fromEntries(cs.map(c => [c.dataset.signal, c.textContent]))",
    )
    counts = risks["counts"].items()
    assert chips == {k: f"{k.replace('_', ' ').capitalize()}: {v:,}" for k, v in counts if v}

    # hover values and legend toggles come from Chart.js, configured on the real chart
    chart = page.locator("#trends-chart")
    chart.scroll_into_view_if_needed()
    area = page.evaluate("() => Chart.getChart('trends-chart').chartArea")
    chart.hover(position={"x": (area["left"] + area["right"]) / 2, "y": area["top"] + 20})
    page.wait_for_function(
        "() => Chart.getChart('trends-chart').tooltip.getActiveElements().length === 7"
    )
    visible = "() => Chart.getChart('trends-chart').isDatasetVisible(0)"
    assert page.evaluate(visible) is True
    legend = page.evaluate(
        "() => { const c = Chart.getChart('trends-chart'); const h = c.legend.legendHitBoxes[0];"
        " return {x: h.left + h.width / 2, y: h.top + h.height / 2}; }"
    )
    chart.click(position=legend)
    page.wait_for_function(f"() => !({visible})()")
    page.evaluate("() => document.getElementById('main').scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "dashboard-1366x768.png"))
    for name in ("projects", "leaderboard", "risks"):
        page.evaluate(f"() => document.querySelector('section:has(#{name})').scrollIntoView()")
        page.screenshot(path=str(artifacts / f"dashboard-{name}-1366x768.png"))


def test_names_are_shown_as_text_never_run(page: Any, server: Any) -> None:
    open_dashboard(page, server.url)
    page.wait_for_selector('#f-account option:has-text("Acme")', state="attached")
    assert page.evaluate("() => window.__pp_xss") is None
    cells = page.locator("#projects tbody td", has_text="<script>")
    assert cells.count() >= 1
    assert HOSTILE in cells.first.inner_text()


def test_a_filter_changes_the_numbers_and_the_url(page: Any, server: Any, api: Any) -> None:
    open_dashboard(page, server.url)
    owners = page.eval_on_selector_all("#f-owner option", "os => os.map(o => o.value)")[1:]
    everyone = api("kpis")["kpis"]["sessions"]
    owner = next(o for o in owners if api("kpis", owner=o)["kpis"]["sessions"] != everyone)
    page.select_option("#f-owner", owner)
    narrowed = api("kpis", owner=owner)["kpis"]
    wait_for_kpi(page, "sessions", narrowed["sessions"])
    assert kpi_values(page) == {k: as_shown(narrowed[k]) for k in KPI_KEYS}
    query = parse_qs(urlparse(page.url).query)
    assert query["owner"] == [owner] and query["as_of"] == [AS_OF]
    projects = api("projects", owner=owner)["projects"]
    # the KPI cards and the project table are fetched apart: wait for the table's rows to
    # be the owner's (the everyone-rows are still there for a moment after the cards)
    page.wait_for_function(
        "n => document.querySelectorAll('#projects tbody tr').length === n", arg=len(projects)
    )
    assert page.locator("#projects tbody tr").count() == len(projects)

    page.select_option("#f-range", "last_7_days")
    week = api("kpis", owner=owner, range="last_7_days")["kpis"]
    wait_for_kpi(page, "sessions", week["sessions"])
    assert "range=last_7_days" in page.url

    page.click("#reset")
    wait_for_kpi(page, "sessions", everyone)
    assert "owner=" not in page.url

    # a link with filters (as a digest email sends) opens on that view
    page.goto(f"{server.url}/?as_of={AS_OF}&range=last_7_days&owner={owner}")
    wait_for_kpi(page, "sessions", week["sessions"])
    assert page.input_value("#f-owner") == owner
    assert page.input_value("#f-range") == "last_7_days"


def test_an_empty_view_says_what_to_check(page: Any, server: Any) -> None:
    open_dashboard(page, server.url, "from=2001-01-01&to=2001-01-31")
    page.wait_for_selector("#empty:not([hidden])")
    text = page.inner_text("#empty")
    assert "No engagement data" in text and "portalpulse import" in text
    assert page.input_value("#f-range") == "custom"
    assert page.input_value("#f-from") == "2001-01-01"


def test_tables_sort_and_expand(page: Any, server: Any, api: Any) -> None:
    open_dashboard(page, server.url)
    header = page.locator('#projects th:has(button[data-sort="sessions"])')
    page.click('#projects button[data-sort="sessions"]')
    page.wait_for_selector('#projects th[aria-sort="descending"] button[data-sort="sessions"]')
    first = page.get_attribute("#projects tbody tr:first-child", "data-project-id")
    by_sessions = api("projects", sort="sessions", descending="true")["projects"]
    assert first == by_sessions[0]["project_id"]
    # keyboard: the sort control is a button that keeps focus after re-rendering
    page.keyboard.press("Enter")
    page.wait_for_selector('#projects th[aria-sort="ascending"] button[data-sort="sessions"]')
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = api("projects", sort="sessions", descending="false")["projects"]
    ids = project_ids(page)
    assert ids == [p["project_id"] for p in ascending]

    row = page.locator(f'#projects tr[data-project-id="{by_sessions[0]["project_id"]}"]')
    page.click('#projects button[data-sort="sessions"]')
    page.wait_for_selector('#projects th[aria-sort="descending"] button[data-sort="sessions"]')
    row.locator("button.expand").click()
    users_row = page.locator(f'tr.users-row[data-users-of="{by_sessions[0]["project_id"]}"]')
    users_row.locator("tbody tr").first.wait_for()
    expected = api("users", project=by_sessions[0]["project_id"])["users"]
    got = users_row.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.userId)")
    assert got == [u["user_id"] for u in expected]
    assert row.locator("button.expand").get_attribute("aria-expanded") == "true"
    row.locator("button.expand").click()
    assert users_row.count() == 0

    page.click('#leaderboard button[data-sort="partner"]')
    page.wait_for_selector('#leaderboard th[aria-sort="ascending"] button[data-sort="partner"]')
    by_name = api("leaderboard", sort="partner", descending="false")["rows"]
    names = page.eval_on_selector_all(
        "#leaderboard tbody tr", "rows => rows.map(r => r.dataset.partnerId)"
    )
    assert names == [r["partner_id"] for r in by_name]
    assert re.fullmatch(r"Page 1 of \d+", page.inner_text("#leaderboard-pager span"))

    page.focus("#tab-resources")
    page.keyboard.press("ArrowRight")
    assert page.locator("#panel-rooms").is_visible()
    assert page.evaluate("() => document.activeElement.id") == "tab-rooms"


def test_a_bad_filter_in_the_link_is_explained(browser: Any, server: Any) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    console = Console(page, allow=("422",))
    page.goto(f"{server.url}/?as_of={AS_OF}&owner=Nobody%20Here")
    # the unknown owner is named and left out; the view loads without it
    page.wait_for_selector("#link-notice:not([hidden])")
    assert "owner 'Nobody Here' is unknown" in page.inner_text("#link-notice")
    page.wait_for_selector('#kpis[aria-busy="false"] .kpi')
    page.wait_for_selector("#page-error", state="hidden")
    assert page.input_value("#f-owner") == ""
    page.click("#reset")
    page.wait_for_selector("#link-notice", state="hidden")
    page.wait_for_selector('#kpis[aria-busy="false"] .kpi')
    settle(page)
    context.close()
    assert not console.errors, console.errors
