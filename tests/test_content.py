"""Top content: worked examples, edge cases, and SQL against the plain-Python reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import resolve_scope
from metrics.sections import content
from tests.conftest import Db, write_folder
from tests.reference import load
from tests.reference_partners import ref_content
from tests.strategies import datasets, load_dataset, scope_for, scopes

FOLDER = {
    "team_members.csv": "member_id,name\ntm1,Jane Doe",
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        acme,Acme,customer,,tm1
        bp,BrightPath,partner,reseller,
    """,
    "projects.csv": "project_id,account_id,name,status\np1,acme,Rollout,in_progress",
    "users.csv": "user_id,account_id,name\nu1,acme,Ann\nu2,acme,Bob\nu3,bp,Cy",
    "rooms.csv": "room_id,name\nr1,Lobby\nr2,Docs\nr3,Archive",
    "resources.csv": """
        resource_id,title,kind
        g,Guide,pdf
        x,Atlas,video
        z,Zen,
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,room_id,resource_id
        e1,u1,p1,2026-03-02T10:00:00Z,page_view,,r1,g
        e2,u1,p1,2026-03-02T10:05:00Z,page_view,,r1,g
        e3,u2,p1,2026-03-03T10:00:00Z,page_view,,r2,x
        e4,u3,,2026-03-04T10:00:00Z,page_view,,r2,x
        e5,u1,p1,2026-03-04T11:00:00Z,action,pdf_open,r3,z
        e6,u1,p1,2026-02-28T23:59:59Z,page_view,,r3,z
        e7,u1,p1,2026-03-07T00:00:00Z,page_view,,r3,z
        e8,u2,p1,2026-03-06T23:59:59Z,page_view,,,
        e9,u2,p1,2026-03-05T09:00:00Z,login,,r1,g
    """,
}
WINDOW = {"as_of": "2026-03-06", "start": "2026-03-01", "end": "2026-03-06"}


def _load(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", FOLDER), workspace=db.workspace)


def _content(db: Db, limit: int = 10, **scope: object) -> content.ContentResult:
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        return content.compute(conn, resolve_scope(conn, ws, **scope), limit=limit)


def test_worked_example(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _content(db, **WINDOW)
    # Only page views count: e5 is an action, e9 a login. e6 is before the window, e7 at
    # its end (excluded); e8 names nothing. Guide (g) and Atlas (x) tie at 2 views: by title.
    assert [r.model_dump() for r in result.resources] == [
        {"resource_id": "x", "title": "Atlas", "kind": "video", "views": 2, "unique_users": 2},
        {"resource_id": "g", "title": "Guide", "kind": "pdf", "views": 2, "unique_users": 1},
    ]
    assert [r.model_dump() for r in result.rooms] == [
        {"room_id": "r2", "room": "Docs", "views": 2, "unique_users": 2},
        {"room_id": "r1", "room": "Lobby", "views": 2, "unique_users": 1},
    ]
    assert (result.total_resources, result.total_rooms, result.limit) == (2, 2, 10)


def test_limit_cuts_lists_but_not_totals(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _content(db, limit=1, **WINDOW)
    assert [r.resource_id for r in result.resources] == ["x"]
    assert [r.room_id for r in result.rooms] == ["r2"]
    assert (result.total_resources, result.total_rooms) == (2, 2)
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        _content(db, limit=0, **WINDOW)


def test_filters_apply_to_the_portal_of_the_view(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    partner = _content(db, partner_type="reseller", **WINDOW)
    # Only e4, in the partner portal.
    assert [(r.resource_id, r.views) for r in partner.resources] == [("x", 1)]
    assert [(r.room_id, r.views) for r in partner.rooms] == [("r2", 1)]
    project = _content(db, projects=["p1"], **WINDOW)
    assert [(r.resource_id, r.views) for r in project.resources] == [("g", 2), ("x", 1)]


def test_window_end_and_empty_window(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    later = _content(db, as_of="2026-03-07", start="2026-03-07", end="2026-03-07")
    assert [(r.resource_id, r.views) for r in later.resources] == [("z", 1)]  # e7
    assert [(r.room_id, r.room) for r in later.rooms] == [("r3", "Archive")]
    empty = _content(db, as_of="2026-03-20", range="last_7_days")
    assert (empty.resources, empty.rooms, empty.total_resources, empty.total_rooms) == (
        [],
        [],
        0,
        0,
    )
    # as_of inside a day: e2 (10:05) is not seen yet.
    early = _content(db, as_of="2026-03-02T10:01:00Z", start="2026-03-01", end="2026-03-06")
    assert [(r.resource_id, r.views) for r in early.resources] == [("g", 1)]


@settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_content_matches_reference(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(datasets())
    # Titles out of id order, and a repeated title, so the order by title then id matters.
    dataset["resources.csv"] += [
        {"resource_id": "res2", "title": "Atlas", "kind": ""},
        {"resource_id": "res3", "title": "Guide", "kind": ""},
    ]
    dataset["rooms.csv"].append({"room_id": "r2", "name": "Archive"})
    for event in dataset["events.csv"]:
        if event["type"] == "page_view" or data.draw(st.booleans()):
            event["type"] = "page_view"
            event["action"] = ""
            event["resource_id"] = data.draw(st.sampled_from(["", "res0", "res1", "res2", "res3"]))
            event["room_id"] = data.draw(st.sampled_from(["", "r0", "r1", "r2"]))
    ws = load_dataset(db.engine, dataset)
    kwargs = data.draw(scopes(dataset))
    limit = data.draw(st.integers(1, 3))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = content.compute(conn, scope, limit=limit)
        ref = load(conn, ws)
    expected = ref_content(ref, scope)
    assert [r.model_dump() for r in got.resources] == expected["resources"][:limit]
    assert [r.model_dump() for r in got.rooms] == expected["rooms"][:limit]
    assert (got.total_resources, got.total_rooms) == (
        len(expected["resources"]),
        len(expected["rooms"]),
    )
