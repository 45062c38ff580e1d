"""The general query (SPEC §6) against a plain-Python reference and against the sections.

Property tests draw small random workspaces (``tests/strategies.py``), scopes,
measures and dimensions, on every configured backend.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.sections import kpis, leaderboard, projects
from metrics.semantic.query import QuerySpec, run_query
from metrics.semantic.registry import SOURCE_DIMENSIONS
from metrics.semantic.vocabulary import REGISTRY
from tests.conftest import Db
from tests.reference import load
from tests.reference_query import ref_query, ref_totals
from tests.strategies import datasets, load_dataset, scope_for, scopes

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FLOW = [n for n, m in REGISTRY.measures.items() if m.temporal == "flow"]
STATE = [n for n, m in REGISTRY.measures.items() if m.temporal == "state"]


@st.composite
def queries(draw: st.DrawFn) -> tuple[list[str], tuple[str, ...]]:
    """Measures and dimensions every one of them supports."""
    if draw(st.integers(0, 3)) == 0:
        measures = draw(st.lists(st.sampled_from(STATE), min_size=1, max_size=3, unique=True))
    else:
        measures = draw(st.lists(st.sampled_from(FLOW), min_size=1, max_size=3, unique=True))
    allowed = set(REGISTRY.dimensions)
    for name in measures:
        allowed &= set(SOURCE_DIMENSIONS[REGISTRY.measures[name].source])
    by = draw(st.lists(st.sampled_from(sorted(allowed)), max_size=2, unique=True))
    return measures, tuple(by)


def _key(row: dict, by: tuple[str, ...]) -> tuple:
    return tuple(row[d] for d in by)


@SETTINGS
@given(data=st.data())
def test_query_matches_reference(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(datasets())
    kwargs = data.draw(scopes(dataset))
    measures, by = data.draw(queries())
    ws = load_dataset(db.engine, dataset)
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = run_query(conn, scope, QuerySpec(tuple(measures), by))
        ref = load(conn, ws)
    expected = ref_query(ref, scope, measures, by)
    rows = {_key(r, by): {m: r[m] for m in measures} for r in got.rows}
    assert len(rows) == len(got.rows), "one row per group"
    for key, values in expected.items():
        assert rows.get(key) == values, key
    for key, values in rows.items():  # rows the reference has no facts for are all zero
        if key not in expected:
            assert all(v in (0, None) for v in values.values()), key
    assert got.totals == ref_totals(ref, scope, measures)


@SETTINGS
@given(data=st.data())
def test_query_agrees_with_the_sections(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(datasets())
    kwargs = data.draw(scopes(dataset))
    ws = load_dataset(db.engine, dataset)
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        cards = kpis.values(conn, scope).model_dump()
        total = run_query(conn, scope, QuerySpec(tuple(cards)))
        assert total.rows == [cards]
        assert total.totals == cards

        columns = ("invited", "logged_in", "sessions", "avg_session_seconds", "tasks_completed",
                   "tasks_assigned", "tasks_unassigned", "tasks_overdue")  # fmt: skip
        table = projects.compute(conn, scope).projects
        by_project = run_query(conn, scope, QuerySpec(columns, ("project",)))
        got = {r["project"]: {c: r[c] for c in columns} for r in by_project.rows if r["project"]}
        assert got == {r.project_id: {c: getattr(r, c) for c in columns} for r in table}

        inputs = ("unique_users", "sessions", "page_views", "avg_session_seconds")
        board = leaderboard.compute(conn, scope, page_size=100).rows
        by_account = run_query(conn, scope, QuerySpec(inputs, ("account", "project")))
        portal = {r["account"]: r for r in by_account.rows if r["project"] is None}
        for row in board:
            found = portal.get(row.partner_id, {})
            assert row.users == found.get("unique_users", 0)
            assert row.sessions == found.get("sessions", 0)
            assert row.page_views == found.get("page_views", 0)
            assert row.avg_session_seconds == found.get("avg_session_seconds")
