"""The page's server side without a browser: the shell, static files, filter menus,
suggested questions, the view analysis answer, and how browser tests skip or fail."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from assistant.planner.extract import extract
from metrics.db import connect, workspace_id
from metrics.demo import generate_demo
from metrics.ingest import import_folder
from metrics.scope import RANGES, resolve_scope
from metrics.sections import section
from server import Config, create_app
from tests.api_support import LOCAL
from web.suggest import VIEWS, suggestions, window_phrase

AS_OF = "2026-11-22"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    root = tmp_path_factory.mktemp("pages")
    url = f"sqlite:///{root / 'demo.db'}"
    engine = connect(url)
    generate_demo(root / "csv", seed=3, as_of=date.fromisoformat(AS_OF), events=3000)
    import_folder(engine, root / "csv")
    engine.dispose()
    with TestClient(create_app(Config(database_url=url)), client=LOCAL) as client:
        yield client, url


def test_the_page_is_a_shell_without_workspace_data(demo) -> None:
    client, _ = demo
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    for key in RANGES:
        assert f'value="{key}"' in html
    assert 'id="chat"' in html and 'id="question"' in html
    owners = client.get("/api/filter-options").json()["owners"]
    assert owners and not any(o["name"] in html for o in owners)


@pytest.mark.parametrize(
    "path", ["/static/js/app.js", "/static/page.css", "/static/vendor/chart.umd.min.js"]
)
def test_static_files_are_served_from_the_package(demo, path: str) -> None:
    client, _ = demo
    response = client.get(path)
    assert response.status_code == 200 and len(response.content) > 500


def test_filter_options_list_the_workspace_values(demo) -> None:
    client, url = demo
    options = client.get("/api/filter-options").json()
    engine = connect(url)
    with engine.connect() as conn:
        ws = workspace_id(conn)
        projects = section("projects")(conn, resolve_scope(conn, ws, as_of=AS_OF)).projects
    engine.dispose()
    assert {p.playbook for p in projects if p.playbook} == set(options["playbooks"])
    assert {p.owner_id for p in projects if p.owner_id} <= {o["id"] for o in options["owners"]}
    assert {p.account_id for p in projects} <= {a["id"] for a in options["accounts"]}
    assert options["partner_types"] == ["referral", "reseller"]
    names = [a["name"] for a in options["accounts"]]
    assert names == sorted(names)


def test_suggestions_follow_the_window_view_and_account(demo) -> None:
    client, _ = demo
    account = client.get("/api/filter-options").json()["accounts"][0]
    got = client.get(
        "/api/suggestions",
        params={"view": "leaderboard", "range": "this_quarter", "account": account["id"]},
    ).json()
    assert got["view"] == "leaderboard"
    assert any("top partners this quarter" in q for q in got["questions"])
    assert any(account["name"] in q for q in got["questions"])
    assert got["analysis"].startswith("Which projects are at risk this quarter")
    dates = client.get("/api/suggestions", params={"from": "2026-10-01", "to": "2026-10-31"})
    assert "from 2026-10-01 to 2026-10-31" in dates.json()["analysis"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"view": "nowhere"}, "view"),
        ({"range": "last_8_days"}, "range"),
        ({"from": "1/2/26"}, "from"),
    ],
)
def test_bad_suggestion_parameters_are_422_naming_the_field(demo, params, field: str) -> None:
    client, _ = demo
    response = client.get("/api/suggestions", params=params)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


@pytest.mark.parametrize("view", VIEWS)
def test_every_suggestion_window_reads_back_as_the_same_window(view: str) -> None:
    today = date.fromisoformat(AS_OF)
    for name in RANGES:
        got = suggestions(view, range_=name)
        for question in [got["analysis"], *got["questions"]]:
            if window_phrase(name, None, None) in question:
                assert extract(question, today).window == {"range": name}, question
    explicit = suggestions(view, start="2026-10-01", end="2026-10-31")["analysis"]
    assert extract(explicit, today).window == {"from": "2026-10-01", "to": "2026-10-31"}


def test_the_view_analysis_lists_risks_blockers_and_the_biggest_gap(demo) -> None:
    client, url = demo
    question = suggestions("overview", range_="last_30_days")["analysis"]
    body = client.post("/api/ask", json={"question": question, "as_of": AS_OF}).json()
    assert body["grounded"], body["answer"]
    assert [c["name"] for c in body["tool_calls"]] == ["get_risks"]
    engine = connect(url)
    with engine.connect() as conn:
        risks = section("risks")(conn, resolve_scope(conn, workspace_id(conn), as_of=AS_OF))
    engine.dispose()
    answer = body["answer"]
    assert "**At-risk projects**" in answer and "**Blockers:**" in answer
    at_risk = [p for p in risks.projects if p.risk_level != "low"]
    if at_risk:
        assert at_risk[0].project in answer
    assert f"{risks.counts['overdue_tasks']:,} projects with overdue tasks" in answer
    gaps = {k: v for k, v in risks.counts.items() if k not in ("overdue_tasks", "unassigned_tasks")}
    biggest = max(gaps, key=lambda k: gaps[k])
    if gaps[biggest]:
        assert f" {gaps[biggest]:,} " in answer.split("most improve engagement:**")[1]


def test_browser_tests_skip_without_chromium_unless_required(monkeypatch) -> None:
    from tests.browser import conftest as browser

    monkeypatch.setenv("PORTALPULSE_CHROMIUM", "/nonexistent/chromium")
    assert browser.find_chromium() is None
    monkeypatch.setenv("PORTALPULSE_REQUIRE_BROWSER", "")
    with pytest.raises(pytest.skip.Exception, match="browser tests skipped: no chromium"):
        browser.unavailable("no chromium found")
    monkeypatch.setenv("PORTALPULSE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="PORTALPULSE_REQUIRE_BROWSER=1 but no"):
        browser.unavailable("no chromium found")
    monkeypatch.delenv("PORTALPULSE_CHROMIUM")
    assert browser.find_chromium() in (None, *filter(None, [shutil.which("chromium")]), CHROMIUM)
