"""Issue 16 in Chromium, at 1440×900 and at 390×844: incomplete trend buckets, one risk
scale, visible suggestions, formatted chat tables, streamed tokens, offline API docs, the
page's formatter against the Python one, and bad link parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics.formatting import format_value
from tests.browser.conftest import AS_OF, Console, settle
from tests.test_formatting import CASES

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
ANSWER = ".msg.assistant[aria-busy='false']"
LEVEL_LINE = re.compile(r"^\[(high|medium)\] “(.+?)” \(")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture(params=list(WIDTHS))
def tab(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A page at one of the two widths; fails on a console error."""
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.width_name = request.param
    console = Console(page)
    page.pp_console = console
    yield page
    settle(page)
    errors = console.errors
    context.close()
    assert not errors, f"console errors: {errors}"


def open_page(page: Any, base: str, query: str = f"as_of={AS_OF}") -> None:
    page.goto(f"{base}/?{query}")
    page.wait_for_selector('#kpis[aria-busy="false"] .kpi')
    page.wait_for_selector("#risks li")


def open_chat(page: Any) -> Any:
    """The panel (opening the drawer on a phone) once its automatic analysis has arrived."""
    if page.width_name == "phone":
        page.click("#chat-toggle")
    first = page.locator(ANSWER).first
    first.wait_for(timeout=90_000)
    return first


def ask(page: Any, question: str) -> Any:
    count = page.locator(ANSWER).count()
    page.fill("#question", question)
    page.click("#send")
    answer = page.locator(ANSWER).nth(count)
    answer.wait_for(timeout=90_000)
    return answer


def test_the_incomplete_last_bucket_is_dashed_and_explained(
    tab: Any, server: Any, artifacts: Path
) -> None:
    # a Thursday noon: the week of Monday 16 Nov has 3.5 of its 7 days
    open_page(tab, server.url, "as_of=2026-11-19T12:00:00Z&range=last_30_days")
    tab.wait_for_selector("#trends-partial:not([hidden])")
    note = tab.inner_text("#trends-partial")
    assert "The last week (16 Nov 2026 – 22 Nov 2026) is incomplete" in note
    assert "3.5 of 7 days" in note and "dashed" in note
    partial = tab.get_attribute("#trends-chart", "data-partial").split(",")
    dash = tab.evaluate(
        """() => {
          const chart = window.Chart.getChart(document.getElementById('trends-chart'));
          const n = chart.data.labels.length;
          const seg = chart.data.datasets[0].segment.borderDash;
          return {n, last: chart.data.labels[n - 1], lastDash: seg({p0DataIndex: n - 2,
                  p1DataIndex: n - 1}), midDash: seg({p0DataIndex: 1, p1DataIndex: 2})};
        }"""
    )
    assert str(dash["n"] - 1) in partial
    assert dash["last"].endswith("*") and dash["lastDash"] and dash["midDash"] is None
    tab.locator("#trends-chart").scroll_into_view_if_needed()
    tab.screenshot(path=str(artifacts / f"trends-partial-{tab.width_name}.png"))

    # as of the end of a Sunday the last week is whole: nothing is marked at its end
    open_page(tab, server.url, "as_of=2026-11-22&range=last_30_days")
    tab.wait_for_function("document.getElementById('trends-chart').dataset.partial !== undefined")
    labels = tab.evaluate(
        "() => window.Chart.getChart(document.getElementById('trends-chart')).data.labels"
    )
    assert not labels[-1].endswith("*")
    assert "The last week" not in tab.inner_text("#trends-partial")


def test_risk_levels_agree_between_the_page_and_the_analysis(
    tab: Any, server: Any, api: Any
) -> None:
    open_page(tab, server.url)
    analysis = open_chat(tab).locator(".answer").inner_text()
    said = [m.groups() for m in map(LEVEL_LINE.match, analysis.splitlines()) if m]
    assert said, analysis
    rows = tab.locator("#risk-projects li[data-level]")
    shown = [
        (rows.nth(i).get_attribute("data-level"), rows.nth(i).locator("strong").inner_text())
        for i in range(rows.count())
    ]
    assert shown[: len(said)] == said  # same projects, same levels, same order
    expected = [(p["risk_level"], p["project"]) for p in api("risks")["projects"]]
    assert said == [e for e in expected if e[0] != "low"][: len(said)]
    # a signal of a project also shows that project's level, on the same scale
    levels = dict((name, level) for level, name in shown)
    for item in tab.locator("#risks li[data-signal]").all()[:10]:
        level = item.locator(".level")
        if level.count():
            project = item.locator("span").nth(1).inner_text()
            if project in levels:
                assert level.get_attribute("data-level") == levels[project]
    assert "Two scales, one rule each" in tab.inner_text("#risk-scale")


def test_suggestions_are_fully_visible_above_the_input(tab: Any, server: Any) -> None:
    open_page(tab, server.url)
    open_chat(tab)
    tab.wait_for_selector("#suggestions button")
    form = tab.locator("#ask").bounding_box()
    viewport = tab.viewport_size
    for button in tab.locator("#suggestions button").all():
        box = button.bounding_box()
        assert box and box["height"] > 0, button.inner_text()
        assert box["y"] + box["height"] <= form["y"] + 0.5, button.inner_text()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
        hit = tab.evaluate(
            "([x, y]) => document.elementFromPoint(x, y)"
            "?.closest('#suggestions button')?.textContent",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == button.inner_text()


def test_chat_data_tables_are_formatted_and_scroll(tab: Any, server: Any, artifacts: Path) -> None:
    open_page(tab, server.url)
    open_chat(tab)
    answer = ask(tab, "Which projects have the lowest portal engagement in the last 30 days?")
    details = answer.locator(".data-details")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    cells = [c.inner_text() for c in answer.locator("table.data td").all()]
    assert cells
    assert not [c for c in cells if ISO.search(c)], "an ISO timestamp in a table"
    assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z]+)+", c)], "a raw enum value"
    conversion = answer.locator('td[data-col="conversion"]').all()
    assert conversion and all(c.inner_text().endswith("%") or c.inner_text() == "—"
                              for c in conversion)  # fmt: skip
    headers = " ".join(h.inner_text() for h in answer.locator("table.data th").all())
    assert " id" not in headers.lower()
    for row in answer.locator("table.data tbody tr").all():
        th = row.locator("th")
        if th.count():
            assert row.locator("td").inner_text() != "—", th.inner_text()
    # wide tables scroll inside the panel instead of being cut off
    panel = tab.locator("#chat").bounding_box()
    for box in answer.locator(".table-scroll").all():
        b = box.bounding_box()
        assert (
            b["x"] >= panel["x"] - 0.5 and b["x"] + b["width"] <= panel["x"] + panel["width"] + 0.5
        )
    wide = tab.evaluate(
        "() => [...document.querySelectorAll('.table-scroll')]"
        ".some(w => w.scrollWidth > w.clientWidth && getComputedStyle(w).overflowX === 'auto')"
    )
    if tab.width_name == "phone":
        assert wide, "the projects table should be wider than a phone's panel, and scroll"
    answer.scroll_into_view_if_needed()
    tab.screenshot(path=str(artifacts / f"chat-table-{tab.width_name}.png"))


def test_an_answer_streams_in_several_pieces(tab: Any, server: Any) -> None:
    open_page(tab, server.url)
    open_chat(tab)
    tab.evaluate(
        """() => {
          window.__pp_seen = [];
          const box = document.getElementById('messages');
          new MutationObserver(() => {
            const last = box.querySelector('.msg.assistant:last-child');
            if (last && last.getAttribute('aria-busy') === 'true') {
              const text = last.querySelector('.answer').textContent;
              const seen = window.__pp_seen;
              if (text && seen.at(-1) !== text.length) seen.push(text.length);
            }
          }).observe(box, {subtree: true, childList: true, characterData: true});
        }"""
    )
    answer = ask(tab, "top 5 partners in the last 30 days")
    seen = tab.evaluate("window.__pp_seen")
    assert len(seen) > 1 and seen == sorted(seen), seen  # text grew piece by piece
    final = answer.locator(".answer").inner_text()
    assert final and "grounded" in answer.locator(".meta").inner_text()
    pieces = tab.evaluate(
        """async (asOf) => {
          const r = await fetch('/api/ask/stream', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({question: 'top 3 partners', as_of: asOf})});
          const text = await r.text();
          return text.split('\\n\\n').filter(b => b.startsWith('event: token')).length;
        }""",
        AS_OF,
    )
    assert pieces > 1


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_render_with_no_network(tab: Any, server: Any, path: str, artifacts: Path) -> None:
    blocked: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    tab.route("**/*", only_local)
    tab.goto(f"{server.url}{path}")
    if path == "/docs":
        tab.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        assert tab.locator(".swagger-ui .opblock").count() > 10
        assert "PortalPulse" in tab.inner_text(".swagger-ui .info")
    else:
        tab.wait_for_selector("h1:has-text('PortalPulse')", timeout=30_000)
        assert "Ask a question, streamed" in tab.inner_text("body")
    assert not blocked, blocked
    tab.screenshot(path=str(artifacts / f"api{path.replace('/', '-')}-{tab.width_name}.png"))


def test_the_page_formatter_is_the_python_one(tab: Any, server: Any) -> None:
    open_page(tab, server.url)
    cases = [(v, f) for v, f, _ in CASES if not hasattr(v, "isoformat") and v is not True]
    shown = tab.evaluate(
        """async (cases) => {
          const { formatValue } = await import('/static/js/format.js');
          return cases.map(([v, f]) => formatValue(v, f));
        }""",
        cases,
    )
    assert shown == [format_value(v, f) for v, f in cases]


def test_bad_link_parameters_are_named_together_and_the_rest_loads(tab: Any, server: Any) -> None:
    tab.pp_console.allow = ("status of 422",)  # the API's answer to the unknown names
    query = "range=bogus&from=2026-13-01&partner_type=x&owner=Nobody%20Atall&account=Zzz"
    open_page(tab, server.url, f"as_of={AS_OF}&{query}")
    tab.wait_for_function(
        "document.getElementById('link-notice').textContent.includes('account')", timeout=30_000
    )
    tab.wait_for_selector('#kpis[aria-busy="false"] .kpi')
    note = tab.inner_text("#link-notice")
    for bad in (
        "range 'bogus'", "from '2026-13-01'", "partner_type 'x'",
        "owner 'Nobody Atall' is unknown", "account 'Zzz' is unknown",
    ):  # fmt: skip
        assert bad in note, note
    assert tab.locator("#kpis .kpi").count() == 8
    assert tab.locator("#page-error").is_hidden()
    scope = tab.inner_text("#scope-label") if tab.width_name == "desktop" else ""
    assert not ISO.search(scope)
