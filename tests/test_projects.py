"""Project engagement table and its per-user rows: worked examples and the reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import explicit_window, iso, named_window, parse_as_of, resolve_scope
from metrics.sections import projects, users
from tests.conftest import Db, write_folder
from tests.reference import load
from tests.reference_projects import ref_project_users, ref_projects
from tests.strategies import datasets, load_dataset, scope_for, scopes

FOLDER = {
    "team_members.csv": "member_id,name\ntm1,Jane Doe\ntm2,Raj Patel",
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        acme,Acme,customer,,tm1
        bp,BrightPath,partner,reseller,tm2
        zed,Zed Corp,customer,,tm2
    """,
    "projects.csv": """
        project_id,account_id,name,owner_id,status,playbook
        p1,acme,Rollout,,in_progress,Enterprise
        p2,acme,API,tm2,live,SMB
        p3,zed,Zeta,,not_started,
    """,
    "users.csv": "user_id,account_id,name\nu1,acme,Ann\nu2,acme,Bob\nu3,bp,Cy\nu4,acme,Dee",
    "invites.csv": """
        invite_id,user_id,project_id,sent_at
        i1,u1,p1,2026-02-27T10:00:00Z
        i2,u2,p1,2026-03-01T10:00:00Z
        i3,u3,,2026-03-02T10:00:00Z
        i4,u1,p1,2026-03-03T10:00:00Z
        i5,u4,p1,2026-03-07T00:00:00Z
        i6,u4,p2,2026-03-05T08:00:00Z
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,device
        e1,u1,p1,2026-03-01T09:00:00Z,login,,desktop
        e2,u1,p1,2026-03-01T09:10:00Z,page_view,,desktop
        e3,u1,p1,2026-03-01T09:20:00Z,action,pdf_open,desktop
        e4,u2,p1,2026-03-05T23:50:00Z,login,,mobile
        e5,u2,p1,2026-03-06T00:10:00Z,page_view,,mobile
        e6,u3,,2026-03-06T12:00:00Z,login,,mobile
        e7,u1,p1,2026-02-28T23:59:00Z,login,,desktop
        e8,u4,p2,2026-03-06T10:00:00Z,page_view,,desktop
        e9,u4,p2,2026-03-06T10:05:00Z,action,video_play,desktop
        e10,u2,p1,2026-03-06T00:20:00Z,action,link_click,mobile
        e11,u2,p1,2026-03-07T00:00:00Z,action,search,mobile
        e12,u3,,2026-02-24T12:00:00Z,login,,mobile
    """,
    "tasks.csv": """
        task_id,project_id,title,assignee_user_id,due_on,completed_at,created_at
        t1,p1,SSO,u1,2026-03-06,2026-03-06T23:59:59Z,2026-02-01T00:00:00Z
        t2,p1,Import,u1,2026-03-05,2026-03-07T00:00:00Z,2026-02-01T00:00:00Z
        t3,p1,Docs,,2026-03-01,,2026-02-01T00:00:00Z
        t4,p1,Train,u2,2026-03-06,,2026-03-02T00:00:00Z
        t5,p1,Later,u2,2026-03-07,,2026-02-01T00:00:00Z
        t6,p1,Future,u2,2026-03-01,,2026-03-07T00:00:00Z
        t7,p2,Setup,u4,,,
        t8,p2,Old,,,2026-02-20T00:00:00Z,2026-01-01T00:00:00Z
    """,
}
"""Window used most: 2026-03-01 to 2026-03-06 as of the end of 03-06, so until = 03-07 00:00."""

WEEK = {"as_of": "2026-03-06", "start": "2026-03-01", "end": "2026-03-06"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def load_folder(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", FOLDER), workspace=db.workspace)


def run_section(db: Db, module: object, scope: dict[str, object], **options: object) -> object:
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        return module.compute(conn, resolve_scope(conn, ws, **scope), **options)  # type: ignore[attr-defined]


def _by_id(result: projects.ProjectsResult) -> dict[str, dict]:
    return {r.project_id: r.model_dump() for r in result.projects}


def test_worked_example_project_rows(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    result = run_section(db, projects, WEEK)
    assert [r.project for r in result.projects] == ["API", "Rollout", "Zeta"]
    rows = _by_id(result)
    # p1: u4's invite at 03-07 00:00 is at until, so not yet invited. u1 and u2 logged in.
    # Sessions in window: u1 09:00–09:20 (1200 s), u2 23:50–00:20 (1800 s). The latest
    # action is e10 (e11 at until is not seen). Tasks: t1 completed in window; assigned
    # t1, t2, t4, t5 (t6 is created at until); t3 open unassigned; t2 (completed only at
    # until, due 03-05) and t4 (due on D = 03-06, as of the end of D) are overdue.
    assert rows["p1"] == {
        "project_id": "p1",
        "project": "Rollout",
        "account_id": "acme",
        "account": "Acme",
        "owner_id": "tm1",
        "owner": "Jane Doe",
        "status": "in_progress",
        "playbook": "Enterprise",
        "invited": 2,
        "logged_in": 2,
        "conversion": 1.0,
        "sessions": 2,
        "avg_session_seconds": 1500.0,
        "last_visit": at("2026-03-05T23:50:00Z"),
        "last_action": {"action": "link_click", "at": at("2026-03-06T00:20:00Z")},
        "tasks_completed": 1,
        "tasks_assigned": 4,
        "tasks_unassigned": 1,
        "tasks_overdue": 2,
    }
    # p2: u4 visited without a login event: invited but not logged in. t7 has no
    # created_at (counts as created) and no due date (never overdue); t8 is done.
    assert rows["p2"] == {
        "project_id": "p2",
        "project": "API",
        "account_id": "acme",
        "account": "Acme",
        "owner_id": "tm2",
        "owner": "Raj Patel",
        "status": "live",
        "playbook": "SMB",
        "invited": 1,
        "logged_in": 0,
        "conversion": 0.0,
        "sessions": 1,
        "avg_session_seconds": 300.0,
        "last_visit": at("2026-03-06T10:00:00Z"),
        "last_action": {"action": "video_play", "at": at("2026-03-06T10:05:00Z")},
        "tasks_completed": 0,
        "tasks_assigned": 1,
        "tasks_unassigned": 0,
        "tasks_overdue": 0,
    }
    # p3: no owner of its own (falls back to Zed Corp's owner), no activity at all.
    assert rows["p3"]["owner_id"] == "tm2" and rows["p3"]["owner"] == "Raj Patel"
    assert rows["p3"]["playbook"] is None
    assert (rows["p3"]["sessions"], rows["p3"]["avg_session_seconds"]) == (0, None)
    assert (rows["p3"]["last_visit"], rows["p3"]["last_action"]) == (None, None)
    assert rows["p3"]["invited"] == rows["p3"]["tasks_assigned"] == 0


def test_state_inside_a_day(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    rows = _by_id(run_section(db, projects, {**WEEK, "as_of": "2026-03-06T06:00:00Z"}))
    # State date is 03-06: t4 due on 03-06 is not overdue yet, t2 (due 03-05) is overdue
    # by one day; t1 (completed at 23:59:59) is still open and not completed in window.
    assert rows["p1"]["tasks_overdue"] == 1
    assert rows["p1"]["tasks_completed"] == 0
    assert rows["p1"]["last_action"] == {"action": "link_click", "at": at("2026-03-06T00:20:00Z")}
    # p2's only session (10:00) and action (10:05) come after 06:00.
    assert (rows["p2"]["sessions"], rows["p2"]["last_visit"], rows["p2"]["last_action"]) == (
        0,
        None,
        None,
    )


def test_first_login_after_until_is_not_seen(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    scope = {"as_of": "2026-03-05T12:00:00Z", "start": "2026-03-01", "end": "2026-03-05"}
    rows = _by_id(run_section(db, projects, scope))
    assert (rows["p1"]["invited"], rows["p1"]["logged_in"]) == (2, 1)  # Bob logs in at 23:50
    bob = [r for r in run_section(db, users, scope).users if r.user_id == "u2"]
    assert [(r.first_login, r.last_visit, r.logins) for r in bob] == [(None, None, 0)]


def test_last_action_across_overlapping_sessions(db: Db, tmp_path: Path) -> None:
    """The latest action can sit in a session that started before later-starting ones."""
    a_events = [  # Ann: 08:00 to 11:55, one event every 25 minutes or less: one session
        f"a{i},u1,p1,2026-03-10T{8 + m // 60:02d}:{m % 60:02d}:00Z,"
        + ("action,file_download" if m == 235 else "page_view,")
        for i, m in enumerate([0, 25, 50, 75, 100, 125, 150, 175, 200, 225, 235])
    ]
    events = "\n".join(
        [
            "event_id,user_id,project_id,occurred_at,type,action",
            *a_events,
            "b1,u2,p1,2026-03-10T11:00:00Z,login,",  # Bob: 11:00, a complete session
            "b2,u2,p1,2026-03-10T11:05:00Z,action,pdf_open",
            "c1,u4,p1,2026-03-10T15:00:00Z,login,",  # Dee: starts before until (15:30) ...
            "c2,u4,p1,2026-03-10T15:30:00Z,action,search",  # ... acts exactly at until
            "c3,u4,p1,2026-03-10T15:40:00Z,action,link_click",
        ]
    )
    folder = {k: v for k, v in FOLDER.items() if k not in ("tasks.csv", "invites.csv")}
    import_folder(
        db.engine,
        write_folder(tmp_path / "late", {**folder, "events.csv": events}),
        workspace=db.workspace,
    )
    rows = _by_id(
        run_section(db, projects, {"as_of": "2026-03-10T15:30:00Z", "range": "last_7_days"})
    )
    assert rows["p1"]["last_action"] == {
        "action": "file_download",
        "at": at("2026-03-10T11:55:00Z"),
    }
    assert rows["p1"]["last_visit"] == at("2026-03-10T15:00:00Z")
    assert rows["p1"]["sessions"] == 3
    later = _by_id(
        run_section(db, projects, {"as_of": "2026-03-10T15:30:00.001Z", "range": "last_7_days"})
    )
    assert later["p1"]["last_action"] == {"action": "search", "at": at("2026-03-10T15:30:00Z")}


def test_empty_window_keeps_state(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    rows = _by_id(run_section(db, projects, {"as_of": "2026-03-20", "range": "last_7_days"}))
    assert rows["p1"]["sessions"] == 0 and rows["p1"]["avg_session_seconds"] is None
    assert rows["p1"]["tasks_completed"] == 0
    # State at 03-21: u4 is now invited to p1 too; the 03-07 session is the latest visit.
    assert rows["p1"]["invited"] == 3 and rows["p1"]["logged_in"] == 2
    assert rows["p1"]["last_visit"] == at("2026-03-07T00:00:00Z")
    assert rows["p1"]["last_action"] == {"action": "search", "at": at("2026-03-07T00:00:00Z")}
    assert rows["p1"]["tasks_assigned"] == 5  # t6 exists now
    assert rows["p1"]["tasks_overdue"] == 3  # t4, t5, t6 (t2 was completed on 03-07)


def test_sorting_nulls_last_and_ties_by_name(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)

    def order(sort: str, descending: bool) -> list[str]:
        result = run_section(db, projects, WEEK, sort=sort, descending=descending)
        assert (result.sort, result.descending) == (sort, descending)
        return [r.project_id for r in result.projects]

    assert order("last_visit", True) == ["p2", "p1", "p3"]
    assert order("last_visit", False) == ["p1", "p2", "p3"]  # null stays last
    assert order("last_action", True) == ["p2", "p1", "p3"]
    assert order("tasks_completed", False) == ["p2", "p3", "p1"]  # API before Zeta on a tie
    assert order("tasks_completed", True) == ["p1", "p2", "p3"]
    assert order("project", True) == ["p3", "p1", "p2"]
    assert order("avg_session_seconds", True) == ["p1", "p2", "p3"]
    with pytest.raises(ValueError, match=r"cannot sort by 'bogus'.*tasks_overdue"):
        run_section(db, projects, WEEK, sort="bogus")


def test_filters(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    owned = run_section(db, projects, {**WEEK, "owner": "Raj Patel"})
    assert [r.project_id for r in owned.projects] == ["p2", "p3"]
    partners = run_section(db, projects, {**WEEK, "partner_type": "reseller"})
    assert partners.projects == []
    assert run_section(db, users, {**WEEK, "partner_type": "reseller"}).users == []
    live = run_section(db, users, {**WEEK, "status": ["live"]})
    assert [(r.project_id, r.user_id) for r in live.users] == [("p2", "u4")]


def test_worked_example_user_rows(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    result = run_section(db, users, WEEK)
    rows = {(r.project_id, r.user_id): r.model_dump() for r in result.users}
    assert list(rows) == [("p1", "u1"), ("p1", "u2"), ("p2", "u4")]  # Ann, Bob, Dee
    # u1: first invite i1 (i4 is a second one); first login e7 before the window counts;
    # in window one login (e1) and one session; t1 completed, t2 still open.
    assert rows[("p1", "u1")] == {
        "project_id": "p1",
        "project": "Rollout",
        "user_id": "u1",
        "user": "Ann",
        "account_id": "acme",
        "account": "Acme",
        "invited_at": at("2026-02-27T10:00:00Z"),
        "first_login": at("2026-02-28T23:59:00Z"),
        "last_visit": at("2026-03-01T09:00:00Z"),
        "logins": 1,
        "sessions": 1,
        "tasks_completed": 1,
        "open_assigned_tasks": 1,
    }
    # u2: t4 and t5 open; t6 does not exist yet at until.
    u2 = rows[("p1", "u2")]
    assert (u2["first_login"], u2["last_visit"]) == (
        at("2026-03-05T23:50:00Z"),
        at("2026-03-05T23:50:00Z"),
    )
    assert (u2["logins"], u2["sessions"], u2["tasks_completed"], u2["open_assigned_tasks"]) == (
        1,
        1,
        0,
        2,
    )
    u4 = rows[("p2", "u4")]
    assert u4["first_login"] is None and u4["logins"] == 0
    assert (u4["sessions"], u4["open_assigned_tasks"]) == (1, 1)


def test_user_rows_sorting_and_project_selection(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    by_login = run_section(db, users, WEEK, sort="first_login", descending=True)
    assert [r.user_id for r in by_login.users] == ["u2", "u1", "u4"]  # u4 (null) last
    by_open = run_section(db, users, WEEK, sort="open_assigned_tasks")
    assert [r.user_id for r in by_open.users] == ["u1", "u4", "u2"]  # Ann before Dee on a tie
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        run_section(db, users, WEEK, sort="nope")
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        scope = resolve_scope(conn, ws, **WEEK)
        assert [r.user_id for r in projects.project_users(conn, scope, ["p2"])] == ["u4"]
        assert projects.project_users(conn, scope, ["p3"]) == []
        owned = resolve_scope(conn, ws, **WEEK, owner="tm1")
        assert projects.project_users(conn, owned, ["p2"]) == []  # p2 is not in that scope


# -- property tests -----------------------------------------------------------------------


def scope_until(kwargs: dict[str, object]) -> datetime:
    """``until`` of the scope ``kwargs`` describe (resolved without a database)."""
    instant, day = parse_as_of(kwargs["as_of"])  # type: ignore[arg-type]
    if "range" in kwargs:
        window = named_window(kwargs["range"], day)  # type: ignore[arg-type]
    else:
        window = explicit_window(kwargs["start"], kwargs["end"])  # type: ignore[arg-type]
    return min(window.end, instant)


@st.composite
def near_until(
    draw: st.DrawFn, data: dict[str, list[dict[str, str]]], until: datetime
) -> dict[str, list[dict[str, str]]]:
    """``data`` with activity and tasks crowding the state instant ``until``.

    More project invites; bursts of events with short gaps, often by invited users,
    build sessions near the 4-hour cap that run across until; tasks are created,
    completed or due right at until or one millisecond or day either side, or
    have no created_at; some invites are sent at until.
    """
    data = {name: [dict(r) for r in rows] for name, rows in data.items()}
    edge = st.sampled_from([until - timedelta(milliseconds=1), until, until + timedelta(hours=1)])
    users = [u["user_id"] for u in data["users.csv"]]
    portals = [p["project_id"] for p in data["projects.csv"]] + [""]
    for n, project in enumerate(data["projects.csv"]):
        for m in range(draw(st.integers(1, 3))):
            sent = until - timedelta(hours=draw(st.integers(1, 1000)))
            data["invites.csv"].append(
                {
                    "invite_id": f"j{n}_{m}",
                    "user_id": draw(st.sampled_from(users)),
                    "project_id": project["project_id"],
                    "sent_at": iso(sent),
                }
            )
    invited = [(i["user_id"], i["project_id"]) for i in data["invites.csv"]]
    for burst in range(draw(st.integers(0, 3))):
        if invited and draw(st.booleans()):
            user, portal = draw(st.sampled_from(invited))
        else:
            user, portal = draw(st.sampled_from(users)), draw(st.sampled_from(portals))
        clock = until - timedelta(seconds=draw(st.integers(0, 6 * 3600)))
        for i in range(draw(st.integers(1, 12))):
            clock += timedelta(seconds=draw(st.sampled_from([0, 60, 900, 1799, 1800])))
            kind = draw(st.sampled_from(["login", "page_view", "action"]))
            action = draw(st.sampled_from(["pdf_open", "search"])) if kind == "action" else ""
            data["events.csv"].append(
                {
                    "event_id": f"b{burst}_{i}",
                    "user_id": user,
                    "project_id": portal,
                    "occurred_at": iso(clock),
                    "type": kind,
                    "action": action,
                    "device": "desktop",
                }
            )
    state_day = until.date()
    for task in data["tasks.csv"]:
        if draw(st.integers(0, 3)) == 0:
            task["created_at"] = draw(st.sampled_from(["", iso(draw(edge))]))
        if draw(st.integers(0, 2)) == 0:
            task["completed_at"] = draw(st.sampled_from(["", iso(draw(edge))]))
        if draw(st.booleans()):
            due = state_day + timedelta(days=draw(st.integers(-1, 1)))
            task["due_on"] = due.isoformat()
    for invite in data["invites.csv"]:
        if draw(st.booleans()):
            invite["sent_at"] = iso(draw(edge))
    return data


@st.composite
def with_projects(
    draw: st.DrawFn, data: dict[str, list[dict[str, str]]]
) -> dict[str, list[dict[str, str]]]:
    """``data`` plus a customer account with one to three projects and a few tasks each."""
    data = {name: [dict(r) for r in rows] for name, rows in data.items()}
    members = [m["member_id"] for m in data["team_members.csv"]]
    users = [u["user_id"] for u in data["users.csv"]]
    data["accounts.csv"].append(
        {
            "account_id": "ac",
            "name": "Added Co",
            "kind": "customer",
            "partner_type": "",
            "owner_id": draw(st.sampled_from([*members, ""])),
        }
    )
    data["users.csv"].append({"user_id": "uc", "account_id": "ac", "name": "Added User"})
    for i in range(draw(st.integers(1, 3))):
        project_id = f"q{i}"
        data["projects.csv"].append(
            {
                "project_id": project_id,
                "account_id": "ac",
                "name": draw(st.sampled_from(["added", "Added", "Beta"])),
                "owner_id": draw(st.sampled_from([*members, ""])),
                "status": draw(st.sampled_from(["in_progress", "live"])),
                "playbook": draw(st.sampled_from(["Enterprise", ""])),
            }
        )
        for k in range(draw(st.integers(0, 4))):
            data["tasks.csv"].append(
                {
                    "task_id": f"tq{i}_{k}",
                    "project_id": project_id,
                    "title": "Added task",
                    "assignee_user_id": draw(st.sampled_from([*users, "uc", ""])),
                    "due_on": "2026-03-31",
                    "completed_at": "",
                    "created_at": "",
                }
            )
    return data


def scoped_dataset(data: st.DataObject) -> tuple[dict[str, list[dict[str, str]]], dict]:
    """A random dataset with edge cases at its scope's until, and that scope's kwargs.

    Every dataset gets projects added, and two scopes in three drop their filters, so
    that most examples have projects in scope.
    """
    dataset = data.draw(datasets())
    dataset = data.draw(with_projects(dataset))
    kwargs = data.draw(scopes(dataset))
    if data.draw(st.integers(0, 2)) < 2:  # mostly no filters: every project is in scope
        kwargs = {k: v for k, v in kwargs.items() if k in ("as_of", "range", "start", "end")}
    return data.draw(near_until(dataset, scope_until(kwargs))), kwargs


def plain(value: object) -> object:
    """Datetimes as epoch seconds (like the reference), recursively."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _null_last_order(rows: list[dict], column: str, descending: bool, ties: object) -> list:
    """An independent statement of the sort rule: nulls last, ties ascending by ``ties``."""

    def value(row: dict) -> object:
        v = row[column]
        if isinstance(v, dict):
            return v["at"]
        return (v.casefold(), v) if isinstance(v, str) else v

    present = sorted((r for r in rows if r[column] is not None), key=ties)  # type: ignore[arg-type]
    present = sorted(present, key=value, reverse=descending)
    absent = sorted((r for r in rows if r[column] is None), key=ties)  # type: ignore[arg-type]
    return present + absent


SETTINGS = settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data())
def test_projects_match_reference(db: Db, data: st.DataObject) -> None:
    dataset, kwargs = scoped_dataset(data)
    ws = load_dataset(db.engine, dataset)
    column = data.draw(st.sampled_from(projects.COLUMNS))
    descending = data.draw(st.booleans())
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = projects.compute(conn, scope, sort=column, descending=descending)
        ref = load(conn, ws)
    expected = ref_projects(ref, scope)
    rows = plain([r.model_dump() for r in got.projects])
    assert sorted(rows, key=lambda r: r["project_id"]) == expected
    ties = lambda r: ((r["project"].casefold(), r["project"]), r["project_id"])  # noqa: E731
    assert rows == _null_last_order(expected, column, descending, ties)


@SETTINGS
@given(data=st.data())
def test_users_match_reference(db: Db, data: st.DataObject) -> None:
    dataset, kwargs = scoped_dataset(data)
    ws = load_dataset(db.engine, dataset)
    column = data.draw(st.sampled_from(users.COLUMNS))
    descending = data.draw(st.booleans())
    picked = data.draw(st.lists(st.sampled_from(["p0", "p1", "p2", "p9"]), max_size=2))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = users.compute(conn, scope, sort=column, descending=descending)
        some = projects.project_users(conn, scope, picked)
        ref = load(conn, ws)
    expected = ref_project_users(ref, scope)
    rows = plain([r.model_dump() for r in got.users])
    key = lambda r: (r["project_id"], r["user_id"])  # noqa: E731
    assert sorted(rows, key=key) == expected

    def ties(r: dict) -> tuple:
        return ((r["user"].casefold(), r["user"]), (r["project"].casefold(), r["project"]), *key(r))

    assert rows == _null_last_order(expected, column, descending, ties)
    assert sorted(plain([r.model_dump() for r in some]), key=key) == [
        r for r in expected if r["project_id"] in picked
    ]
