"""Summary stats: worked examples, the flag threshold, and consistency with kpis and projects."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.sections import kpis, projects, summary
from tests.conftest import Db
from tests.reference import load
from tests.reference_projects import ref_summary
from tests.strategies import load_dataset, scope_for
from tests.test_projects import WEEK, load_folder, run_section, scoped_dataset


def _plain(result: summary.SummaryResult) -> dict[str, object]:
    return result.model_dump(exclude={"section", "scope"})


def test_worked_example(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    result = run_section(db, summary, WEEK)
    # Invites i2, i3, i4, i6 and logins e1, e4, e6 in the window (the KPI cards);
    # t3 is the one open unassigned task; t2 and t4 are overdue (see test_projects).
    assert _plain(result) == {
        "projects": 3,
        "invites_sent": 4,
        "logins": 3,
        "tasks_unassigned": 1,
        "tasks_overdue": 2,
        "tasks_unassigned_flag": False,
        "unassigned_threshold": 10,
    }
    assert result.section == "summary" and result.scope["to"] == "2026-03-07T00:00:00Z"


def test_flag_is_strictly_above_the_threshold(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    assert run_section(db, summary, WEEK, unassigned_threshold=0).tasks_unassigned_flag is True
    at_threshold = run_section(db, summary, WEEK, unassigned_threshold=1)
    assert (at_threshold.tasks_unassigned_flag, at_threshold.unassigned_threshold) == (False, 1)
    with pytest.raises(ValueError, match="unassigned_threshold must be 0 or more"):
        run_section(db, summary, WEEK, unassigned_threshold=-1)


def test_filters(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    partners = _plain(run_section(db, summary, {**WEEK, "partner_type": "reseller"}))
    # No project is in a partner-type scope; BrightPath's invite i3 and login e6 are.
    assert partners == {
        "projects": 0,
        "invites_sent": 1,
        "logins": 1,
        "tasks_unassigned": 0,
        "tasks_overdue": 0,
        "tasks_unassigned_flag": False,
        "unassigned_threshold": 10,
    }
    raj = _plain(run_section(db, summary, {**WEEK, "owner": "tm2"}))
    # Raj owns p2, p3 (through Zed Corp) and the partner BrightPath: i6 and i3, login e6.
    assert (raj["projects"], raj["invites_sent"], raj["logins"]) == (2, 2, 1)
    assert (raj["tasks_unassigned"], raj["tasks_overdue"]) == (0, 0)
    quiet = _plain(run_section(db, summary, {"as_of": "2026-03-20", "range": "last_7_days"}))
    assert (quiet["invites_sent"], quiet["logins"]) == (0, 0)
    assert (quiet["tasks_unassigned"], quiet["tasks_overdue"]) == (1, 3)  # states, not flows


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_summary_agrees_with_kpis_projects_and_reference(db: Db, data: st.DataObject) -> None:
    dataset, kwargs = scoped_dataset(data)
    ws = load_dataset(db.engine, dataset)
    threshold = data.draw(st.integers(0, 3))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = summary.compute(conn, scope, unassigned_threshold=threshold)
        cards = kpis.values(conn, scope)
        table = projects.compute(conn, scope).projects
        ref = load(conn, ws)
    assert _plain(got) == ref_summary(ref, scope, threshold)
    assert got.projects == len(table)
    assert (got.invites_sent, got.logins) == (cards.invites_sent, cards.logins)
    assert got.tasks_unassigned == sum(r.tasks_unassigned for r in table)
    assert got.tasks_overdue == sum(r.tasks_overdue for r in table)
    assert got.tasks_unassigned_flag == (got.tasks_unassigned > threshold)
