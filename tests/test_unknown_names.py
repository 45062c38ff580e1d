"""Several unknown or ambiguous names in one request are all reported in one error.

Regression: the resolver stopped at the first bad filter value, so a request with
two unknown accounts and an unknown owner was refused three times in a row (the
dashboard reloaded once per rejected name). Now the one :class:`ScopeError` names
every problem, and its ``problems`` list each (parameter, value, kind, message,
candidates) — at the resolver, over HTTP (metrics sections, ``/api/query``, an ask's
fixed filters), on the command line and in the page's script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from metrics.db import workspace_id
from metrics.errors import ScopeError
from metrics.ingest import import_folder
from metrics.scope import resolve_scope
from metrics.semantic.params import FilterParams, ScopeParams
from metrics.semantic.resolve import ResolveError
from server import Config, create_app
from tests.api_support import LOCAL
from tests.conftest import Db, write_folder
from tests.test_cli import run  # the CLI in a subprocess, as a user runs it

BOOK = {
    "team_members.csv": "member_id,name,email\ntm1,Jane Doe,jane@x.test\ntm2,Jane Roe,",
    "accounts.csv": "account_id,name,kind\nacme,Acme Corp,customer\nglob,Globex,customer",
    "users.csv": "user_id,account_id,name\nu1,acme,Ann",
    "projects.csv": "project_id,account_id,name,status,playbook\np1,acme,Rollout,live,SMB",
    "events.csv": "event_id,user_id,project_id,occurred_at,type\n"
    "e1,u1,p1,2026-03-01T10:00:00Z,login",
}
AS_OF = "2026-03-31"


def imported(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", BOOK), workspace=db.workspace)


def said(problems: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(p["parameter"], p["value"], p["kind"]) for p in problems]


# -- the resolver ----------------------------------------------------------------------


def test_the_resolver_reports_every_bad_name_at_once(db: Db, tmp_path: Path) -> None:
    imported(db, tmp_path)
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        with pytest.raises(ScopeError) as caught:
            resolve_scope(
                conn,
                ws,
                as_of=AS_OF,
                owner="Jane",
                accounts=["Acne", "acme", "Alsonot"],
                playbook="Nope",
                projects=["Rollout", "Nowhere"],
            )
        error = caught.value
        problems = error.describe_problems()
        assert said(problems) == [
            ("owner", "Jane", "ambiguous"),
            ("account", "Acne", "not_found"),
            ("account", "Alsonot", "not_found"),
            ("playbook", "Nope", "not_found"),
            ("project", "Nowhere", "not_found"),
        ]
        assert {c["id"] for c in problems[0]["candidates"]} == {"tm1", "tm2"}
        assert [c["id"] for c in problems[1]["candidates"]] == ["acme"]
        assert all(isinstance(p, ResolveError) for p in error.problems)
        message = str(error)
        for part in (
            "owner 'Jane' matches several: 'Jane Doe' (tm1); 'Jane Roe' (tm2)",
            "unknown account 'Acne'; did you mean 'Acme Corp' (acme)?",
            "unknown account 'Alsonot'",
            "unknown playbook 'Nope'",
            "unknown project 'Nowhere'",
        ):
            assert part in message, message
        assert [p["message"] for p in problems] == [str(p) for p in error.problems]

        # the same through the one scope model: filters alone, and the whole scope
        with pytest.raises(ScopeError) as caught:
            FilterParams(owner="Nobody", account=["Nosuch", "Alsonot"]).resolve_filters(conn, ws)
        assert said(caught.value.describe_problems()) == [
            ("owner", "Nobody", "not_found"),
            ("account", "Nosuch", "not_found"),
            ("account", "Alsonot", "not_found"),
        ]
        params = ScopeParams.model_validate({"as_of": "soon", "account": ["Nosuch"]})
        with pytest.raises(ScopeError) as caught:
            params.resolve(conn, ws)
        assert "as_of: 'soon' is not a date" in str(caught.value)
        assert "unknown account 'Nosuch'" in str(caught.value)
        assert len(caught.value.problems) == 2

        # one bad name: the resolver's own error, its message unchanged
        with pytest.raises(ResolveError) as one:
            resolve_scope(conn, ws, accounts=["Acne"])
        assert one.value.problems == [one.value]
        assert str(one.value) == "unknown account 'Acne'; did you mean 'Acme Corp' (acme)?"
        # and good names still resolve, duplicates once
        scope = resolve_scope(conn, ws, as_of=AS_OF, accounts=["Acme Corp", "acme"])
        assert scope.filters.accounts == ("acme",)


def test_an_asks_fixed_filters_name_every_bad_value(db: Db, tmp_path: Path) -> None:
    from assistant.service import Assistant, QuestionError

    imported(db, tmp_path)
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
    holder: Any = SimpleNamespace(engine=db.engine)  # fixed_filters reads the engine only
    with pytest.raises(QuestionError) as caught:
        Assistant.fixed_filters(holder, ws, {"owner": "Nobody", "accounts": ["Nosuch", "Acne"]})
    message = str(caught.value)
    assert message.startswith("filters: unknown owner 'Nobody'")
    assert "unknown account 'Nosuch'" in message and "did you mean 'Acme Corp'" in message
    with pytest.raises(QuestionError) as caught:
        Assistant.fixed_filters(holder, ws, {"status": ["done", "live", "over"]})
    assert "status.0:" in str(caught.value) and "status.2:" in str(caught.value)
    assert Assistant.fixed_filters(holder, ws, {"accounts": ["Acme Corp"]}) == {
        "accounts": ["acme"]
    }


# -- over HTTP -------------------------------------------------------------------------


@pytest.fixture
def client(db: Db, tmp_path: Path) -> Iterator[TestClient]:
    imported(db, tmp_path)
    app = create_app(Config(database_url=db.url, workspace=db.workspace))
    with TestClient(app, client=LOCAL) as c:
        yield c


def refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert isinstance(body["detail"], str)
    for problem in body["problems"]:
        assert set(problem) == {"parameter", "value", "kind", "message", "candidates"}
        assert problem["message"] in body["detail"]
    return body


def test_the_api_names_every_bad_name_in_one_422(client: TestClient) -> None:
    body = refused(
        client.get(
            "/api/metrics/kpis",
            params={"account": ["Nosuch", "Alsonot"], "owner": "Nobody", "as_of": AS_OF},
        )
    )
    assert said(body["problems"]) == [
        ("owner", "Nobody", "not_found"),
        ("account", "Nosuch", "not_found"),
        ("account", "Alsonot", "not_found"),
    ]
    for part in ("unknown owner 'Nobody'", "unknown account 'Nosuch'", "'Alsonot'"):
        assert part in body["detail"]

    body = refused(
        client.get(
            "/api/query",
            params={"measures": "logins", "account": ["Acne", "Alsonot"], "owner": "Jane"},
        )
    )
    assert said(body["problems"]) == [
        ("owner", "Jane", "ambiguous"),
        ("account", "Acne", "not_found"),
        ("account", "Alsonot", "not_found"),
    ]
    assert body["problems"][1]["candidates"][0]["name"] == "Acme Corp"
    assert "did you mean 'Acme Corp' (acme)?" in body["detail"]

    # one bad name: the same detail as ever, and a list of one
    body = refused(client.get("/api/metrics/kpis", params={"owner": "Nobody"}))
    assert body["detail"] == "unknown owner 'Nobody'"
    assert said(body["problems"]) == [("owner", "Nobody", "not_found")]


def test_an_ask_names_every_bad_fixed_filter_in_one_422(client: TestClient) -> None:
    filters = {"owner": "Nobody", "accounts": ["Nosuch", "Acne"], "playbook": "Nope"}
    for route in ("/api/ask", "/api/ask/stream"):
        asked = {"question": "how many logins?", "filters": filters}
        body = refused(client.post(route, json=asked))
        assert body["detail"].startswith("filters: unknown owner 'Nobody'"), body
        assert said(body["problems"]) == [
            ("owner", "Nobody", "not_found"),
            ("account", "Nosuch", "not_found"),
            ("account", "Acne", "not_found"),
            ("playbook", "Nope", "not_found"),
        ]
        # a bad as_of beside them is named in the same answer
        body = refused(
            client.post(
                route,
                json={"question": "how many?", "as_of": "soon", "filters": {"accounts": ["X1"]}},
            )
        )
        assert "filters: unknown account 'X1'" in body["detail"]
        assert "as_of: 'soon' is not a date" in body["detail"]
        assert len(body["problems"]) == 2


# -- the command line ------------------------------------------------------------------


def test_the_cli_names_every_bad_name_in_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = write_folder(tmp_path / "in", BOOK)
    assert run("import", str(folder), "--db", db, "--quiet", cwd=tmp_path).returncode == 0
    names = ("--account", "Nosuch", "--account", "Acne", "--owner", "Nobody", "--db", db)
    for command in (("metrics", "kpis"), ("query", "logins")):
        done = run(*command, *names, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
        for part in (
            "unknown owner 'Nobody'",
            "unknown account 'Nosuch'",
            "unknown account 'Acne'; did you mean 'Acme Corp' (acme)?",
        ):
            assert part in lines[0], (command, lines[0])


# -- the page's script -----------------------------------------------------------------

STATE_JS = Path(__file__).resolve().parent.parent / "web" / "static" / "js" / "state.js"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_page_leaves_out_every_rejected_name_at_once() -> None:
    state = {"range": "", "from": "", "to": "", "as_of": "", "owner": "Nobody",
             "account": ["acme", "Nosuch", "Alsonot"], "playbook": "SMB",
             "partner_type": ""}  # fmt: skip
    problems = [
        {"parameter": "owner", "value": "Nobody", "kind": "not_found", "candidates": []},
        {"parameter": "account", "value": "Nosuch", "kind": "not_found",
         "candidates": [{"kind": "account", "id": "n1", "name": "Nosuch Ltd", "detail": None}]},
        {"parameter": "account", "value": "Alsonot", "kind": "ambiguous",
         "candidates": [{"name": "Also A"}, {"name": "Also B"}]},
        {"parameter": "account", "value": "elsewhere", "kind": "not_found", "candidates": []},
    ]  # fmt: skip
    script = (
        f"import {{ withoutRejected }} from {json.dumps(STATE_JS.as_uri())};\n"
        f"console.log(JSON.stringify([withoutRejected({json.dumps(state)}, "
        f"{json.dumps(problems)}), withoutRejected({json.dumps(state)}, [])]));"
    )
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    fixed, nothing = json.loads(done.stdout)
    assert nothing is None
    assert fixed["state"]["owner"] == "" and fixed["state"]["account"] == ["acme"]
    assert fixed["state"]["playbook"] == "SMB"
    assert fixed["notes"] == [
        "owner 'Nobody' is unknown",
        "account 'Nosuch' is unknown (did you mean Nosuch Ltd?)",
        "account 'Alsonot' matches several: Also A, Also B",
    ]
