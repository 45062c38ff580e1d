"""Drifting users: visited before, not in the last N days."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.lookups.drift import drifting_users
from metrics.scope import resolve_scope
from tests.conftest import Db, write_folder
from tests.reference import load, ts
from tests.strategies import datasets, load_dataset, scope_for, scopes

FOLDER = {
    "accounts.csv": "account_id,name,kind\nacme,Acme,customer",
    "projects.csv": "project_id,account_id,name,status\np1,acme,Rollout,live",
    "users.csv": "user_id,account_id,name\nu1,acme,Ann\nu2,acme,Bob\nu3,acme,Cy\nu4,acme,Dee",
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type
        e1,u1,p1,2026-03-17T00:00:00Z,login
        e2,u2,p1,2026-03-17T00:00:01Z,login
        e3,u3,p1,2026-03-01T09:00:00Z,login
        e4,u3,p1,2026-03-02T09:00:00Z,login
        e5,u1,p1,2026-04-02T09:00:00Z,login
    """,
}


def test_worked_example(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", FOLDER), workspace=db.workspace)
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        # until = 2026-03-31T00:00Z; 14 days before = 2026-03-17T00:00Z exactly.
        result = drifting_users(conn, resolve_scope(conn, ws, as_of="2026-03-30"))
    # u1 last visited exactly 14 days before (drifting; its 04-02 visit is after as_of),
    # u2 one second later (not yet), u3 long ago, u4 never (not drifting: never started).
    assert [(u.user_id, u.days_since_visit, u.visits) for u in result.users] == [
        ("u1", 14, 1),
        ("u3", 28, 2),
    ]
    assert result.total == 2


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_matches_reference(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(datasets())
    ws = load_dataset(db.engine, dataset)
    days = data.draw(st.sampled_from([1, 7, 14, 30]))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, data.draw(scopes(dataset)))
        got = drifting_users(conn, scope, days)
        ref = load(conn, ws)
    until = ts(scope.until)
    latest: dict[str, float] = {}
    for s in ref.sessions:
        if s.start < until and ref.portal_in_scope(scope, s.project_id, s.user_id):
            latest[s.user_id] = max(latest.get(s.user_id, s.start), s.start)
    expected = {u for u, t in latest.items() if t <= until - days * 86400}
    assert {u.user_id for u in got.users} == expected
