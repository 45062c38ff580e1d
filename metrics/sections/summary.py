"""Summary stats (SPEC §4.5): projects in scope, invites, logins and task flags.

Nothing is re-derived here: invites_sent and logins are the KPI cards'
values (:func:`metrics.sections.kpis.invites_sent` and
:func:`~metrics.sections.kpis.flow_counts`), and the task counts are the
sums of the project table's columns (:func:`metrics.sections.projects.task_counts`).
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from metrics.query import projects_select
from metrics.results import Result
from metrics.scope import Scope
from metrics.sections import kpis, projects

DEFAULT_UNASSIGNED_THRESHOLD = 10


class SummaryResult(Result):
    section: str = "summary"
    projects: int
    invites_sent: int
    logins: int
    tasks_unassigned: int
    tasks_overdue: int
    tasks_unassigned_flag: bool
    """True when tasks_unassigned is above ``unassigned_threshold``."""
    unassigned_threshold: int


def compute(
    conn: Connection, scope: Scope, unassigned_threshold: int = DEFAULT_UNASSIGNED_THRESHOLD
) -> SummaryResult:
    """Summary counts of ``scope``; flags unassigned tasks above ``unassigned_threshold``."""
    if unassigned_threshold < 0:
        raise ValueError(f"unassigned_threshold must be 0 or more, not {unassigned_threshold}")
    logins, _page_views, _actions = kpis.flow_counts(conn, scope)
    count = conn.scalar(select(func.count()).select_from(projects_select(scope).subquery()))
    tasks = projects.task_counts(conn, scope).values()
    unassigned = sum(t.tasks_unassigned for t in tasks)
    return SummaryResult(
        scope=scope.describe(),
        projects=count or 0,
        invites_sent=kpis.invites_sent(conn, scope),
        logins=logins,
        tasks_unassigned=unassigned,
        tasks_overdue=sum(t.tasks_overdue for t in tasks),
        tasks_unassigned_flag=unassigned > unassigned_threshold,
        unassigned_threshold=unassigned_threshold,
    )
