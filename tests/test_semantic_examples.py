"""Worked examples of SPEC §6: each attribution rule, where, sort, limit, totals, errors —
through the function, ``portalpulse query --json`` and ``GET /api/query``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import resolve_scope
from metrics.semantic.query import QueryError, QueryResult, parse_query, run_query
from tests.conftest import Db, write_folder

FILES = {
    "team_members.csv": """
        member_id,name,email
        tm1,Ana López,ana@x.test
        tm2,Ben Ode,ben@x.test
    """,
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        c1,Acme,customer,,tm1
        c2,Bolt,customer,,tm2
        p1,Orbit Partners,partner,referral,tm2
    """,
    "projects.csv": """
        project_id,account_id,name,owner_id,status,playbook,started_on,target_live_on
        pr1,c1,Acme rollout,,in_progress,Std,,
        pr2,c2,Bolt pilot,tm1,live,Ent,,
    """,
    "users.csv": """
        user_id,account_id,name,email,role
        u1,c1,Ann,,admin
        u2,c1,Al,,member
        u3,c2,Bo,,admin
        u4,p1,Pia,,member
    """,
    "invites.csv": """
        invite_id,user_id,project_id,sent_at
        i1,u1,pr1,2026-02-01T09:00:00Z
        i2,u2,pr1,2026-03-05T09:00:00Z
        i3,u3,pr2,2026-03-06T09:00:00Z
        i4,u4,,2026-03-07T09:00:00Z
    """,
    "rooms.csv": """
        room_id,name
        r1,Library
    """,
    "resources.csv": """
        resource_id,title,kind
        res1,Setup guide,pdf
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,room_id,resource_id,device
        e1,u1,pr1,2026-03-02T10:00:00Z,login,,,,desktop
        e2,u1,pr1,2026-03-02T10:10:00Z,page_view,,,,mobile
        e3,u1,pr1,2026-03-31T23:50:00Z,login,,,,mobile
        e4,u1,pr1,2026-04-01T00:10:00Z,page_view,,,,mobile
        e5,u3,pr2,2026-03-10T09:00:00Z,login,,,,tablet
        e6,u3,pr2,2026-03-10T09:05:00Z,action,file_download,r1,res1,tablet
        e7,u4,,2026-03-15T12:00:00Z,login,,,,mobile
        e8,u4,,2026-03-15T12:01:00Z,page_view,,,res1,mobile
        e9,u2,pr1,2026-02-20T08:00:00Z,login,,,,desktop
    """,
    "tasks.csv": """
        task_id,project_id,title,assignee_user_id,due_on,completed_at,created_at
        t1,pr1,Kickoff,u1,2026-03-10,2026-03-09T10:00:00Z,2026-03-01T00:00:00Z
        t2,pr1,Setup,u2,2026-03-20,,2026-03-01T00:00:00Z
        t3,pr2,Train,,,,2026-03-01T00:00:00Z
    """,
}
AS_OF = "2026-03-31"


@pytest.fixture
def loaded(db: Db, tmp_path: Path) -> tuple[Engine, int]:
    import_folder(db.engine, write_folder(tmp_path / "in", FILES), workspace=db.workspace)
    with db.engine.connect() as conn:
        return db.engine, workspace_id(conn, db.workspace, create=False)


def query(
    loaded: tuple[Engine, int], measures: str, by: str | None = None, **kw: object
) -> QueryResult:
    engine, ws = loaded
    scope_kw = {
        k: kw.pop(k) for k in list(kw) if k in ("owner", "accounts", "partner_type", "range")
    }
    with engine.connect() as conn:
        scope = resolve_scope(conn, ws, as_of=AS_OF, **{"range": "this_month", **scope_kw})
        return run_query(conn, scope, parse_query(measures, by=by, **kw))


def rows(result: QueryResult, *keys: str) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in result.rows]


def test_attribution_by_owner_account_project(loaded: tuple[Engine, int]) -> None:
    # pr1 has no owner: its account's (tm1); partner-portal activity: the partner's owner (tm2)
    got = query(loaded, "sessions,logins", "owner")
    assert rows(got, "owner", "owner_name", "sessions", "logins") == [
        ("tm1", "Ana López", 3, 3),
        ("tm2", "Ben Ode", 1, 1),
    ]
    got = query(loaded, "sessions,logins", "account")
    assert rows(got, "account", "account_name", "sessions") == [
        ("c1", "Acme", 2), ("c2", "Bolt", 1), ("p1", "Orbit Partners", 1),
    ]  # fmt: skip
    got = query(loaded, "sessions", "project")
    assert rows(got, "project", "project_name", "sessions") == [
        ("pr1", "Acme rollout", 2), ("pr2", "Bolt pilot", 1), (None, None, 1),
    ]  # fmt: skip


def test_sessions_by_first_event_and_events_by_their_own(loaded: tuple[Engine, int]) -> None:
    # a session's device is its first event's; the one starting 23:50 on the 31st belongs
    # to March though it runs into April, and lasts 20 minutes
    got = query(loaded, "sessions,avg_session_seconds", "device")
    assert rows(got, "device", "sessions", "avg_session_seconds") == [
        ("desktop", 1, 600.0), ("mobile", 2, 630.0), ("tablet", 1, 300.0),
    ]  # fmt: skip
    got = query(loaded, "logins,page_views", "device")
    assert rows(got, "device", "logins", "page_views") == [
        ("desktop", 1, 0), ("mobile", 2, 2), ("tablet", 1, 0),
    ]  # fmt: skip
    assert got.totals == {"logins": 4, "page_views": 2}  # e4 (April) and e9 (February) out
    got = query(loaded, "sessions,unique_users", "week")
    assert rows(got, "week", "sessions", "unique_users") == [
        ("2026-03-02", 1, 1), ("2026-03-09", 2, 2), ("2026-03-30", 1, 1),
    ]  # fmt: skip
    got = query(loaded, "page_views,actions", "resource")
    assert rows(got, "resource", "resource_name", "page_views", "actions") == [
        ("res1", "Setup guide", 1, 1), (None, None, 1, 0),
    ]  # fmt: skip
    got = query(loaded, "actions", "room")
    assert rows(got, "room", "room_name", "actions") == [("r1", "Library", 1)]


def test_state_measures_at_the_windows_end(loaded: tuple[Engine, int]) -> None:
    got = query(
        loaded, "invited,logged_in,tasks_assigned,tasks_unassigned,tasks_overdue", "project"
    )
    assert rows(got, "project", "invited", "logged_in", "tasks_assigned", "tasks_overdue") == [
        ("pr1", 2, 2, 2, 1), ("pr2", 1, 1, 0, 0), (None, 1, 1, 0, 0),
    ]  # fmt: skip
    assert got.totals == {
        "invited": 4, "logged_in": 4, "tasks_assigned": 2, "tasks_unassigned": 1,
        "tasks_overdue": 1,
    }  # fmt: skip


def test_where_sort_limit_and_totals(loaded: tuple[Engine, int]) -> None:
    got = query(loaded, "sessions", "account", where=["sessions >= 1"], sort="sessions", limit=2)
    assert rows(got, "account", "sessions") == [("c1", 2), ("c2", 1)]  # ties: by name
    assert got.totals == {"sessions": 4} and got.groups == 3
    got = query(loaded, "logins", "account", where=["tasks_overdue > 0"])  # not among MEASURES
    assert rows(got, "account", "logins") == [("c1", 2)]
    got = query(loaded, "sessions", "account", sort="sessions", descending=False)
    assert [r["account"] for r in got.rows] == ["c2", "p1", "c1"]
    got = query(loaded, "sessions", "owner", partner_type="referral")  # partner portal only
    assert rows(got, "owner", "sessions") == [("tm2", 1)]


@pytest.mark.parametrize(
    ("measures", "by", "where", "message"),
    [
        ("sesions", None, None, "unknown measure 'sesions'; did you mean sessions"),
        ("sessions", "planet", None, "unknown dimension 'planet'"),
        ("tasks_overdue", "month", None, "cannot be cut by month; it can be cut by: project"),
        ("sessions", "room", None, "sessions is a measure that cannot be cut by room"),
        ("sessions", None, "sessions >> 3", "expected 'MEASURE OP NUMBER'"),
        ("sessions", None, "NPS > 3", "unknown measure 'NPS'"),
    ],
)
def test_errors_name_the_valid_choices(
    measures: str, by: str | None, where: str | None, message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(measures, by=by, where=where)


def test_cli_json_is_spec_shaped(sqlite_db: Db, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", FILES)
    url = sqlite_db.url
    import_folder(sqlite_db.engine, folder)
    args = ["query", "sessions,avg_session_seconds", "--by", "account,month", "--as-of", AS_OF,
            "--range", "this_month", "--account", "Acme", "--account", "orbit partners",
            "--where", "sessions > 0", "--sort", "sessions", "--desc", "--limit", "5",
            "--json", "--db", url]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"measures", "by", "window", "rows", "totals"}
    assert out["window"] == {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
    assert out["rows"] == [
        {"account": "c1", "account_name": "Acme", "month": "2026-03-01", "sessions": 2,
         "avg_session_seconds": 900.0},
        {"account": "p1", "account_name": "Orbit Partners", "month": "2026-03-01", "sessions": 1,
         "avg_session_seconds": 60.0},
    ]  # fmt: skip
    assert out["totals"] == {"sessions": 3, "avg_session_seconds": 620.0}
    bad = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "query", "sessions", "--by",
         "galaxy", "--db", url],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "unknown dimension 'galaxy'" in bad.stderr
    assert "Traceback" not in bad.stderr
