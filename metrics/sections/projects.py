"""Project engagement table (SPEC §4.4): one row per project in scope, and its per-user rows.

State columns (invited, logged_in, last_visit, last_action, task counts) are
evaluated at ``scope.until``; flow columns (sessions, avg_session_seconds,
tasks_completed) count in ``[start, until)``. A handful of grouped queries
build the table; per-project look-ups (latest session, latest action) are
correlated subqueries on indexes inside those queries, never a query per row.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Connection, and_, func, select

from metrics.models import PARTNER_PORTAL, Account, Project, Session, Task, TeamMember
from metrics.query import PROJECT_OWNER, project_condition, projects_select, sessions_in_window
from metrics.results import Result, ratio, seconds
from metrics.scope import Scope
from metrics.sections._projects_sort import sort_key, sort_rows
from metrics.sections._projects_state import (
    LastAction,
    count_if,
    first_login,
    invited_pairs,
    last_actions,
    last_visit,
    task_completed_in_window,
    task_exists,
    task_open,
    task_overdue,
)
from metrics.sections._projects_users import ProjectUserRow, project_users

__all__ = [
    "COLUMNS",
    "LastAction",
    "ProjectRow",
    "ProjectUserRow",
    "ProjectsResult",
    "TaskCounts",
    "compute",
    "project_users",
    "task_counts",
]


class TaskCounts(BaseModel):
    tasks_completed: int = 0
    """Completed in the window."""
    tasks_assigned: int = 0
    """With an assignee, created before until (no created_at counts as created)."""
    tasks_unassigned: int = 0
    """Open at until, without an assignee."""
    tasks_overdue: int = 0
    """Open at until, with an assignee, due before the UTC date of until."""


class ProjectRow(BaseModel):
    project_id: str
    project: str
    account_id: str
    account: str
    owner_id: str | None
    """The project's owner, else its account's owner."""
    owner: str | None
    status: str
    playbook: str | None
    invited: int
    logged_in: int
    conversion: float | None
    """Invite-to-login conversion: logged_in ÷ invited (None when nobody was invited)."""
    sessions: int
    avg_session_seconds: float | None
    last_visit: datetime | None
    last_action: LastAction | None
    tasks_completed: int
    tasks_assigned: int
    tasks_unassigned: int
    tasks_overdue: int


class ProjectsResult(Result):
    section: str = "projects"
    sort: str
    descending: bool
    projects: list[ProjectRow]


COLUMNS = tuple(ProjectRow.model_fields)


def compute(
    conn: Connection, scope: Scope, sort: str = "project", descending: bool = False
) -> ProjectsResult:
    """The project table of ``scope`` sorted by ``sort`` (nulls last), ties by project name.

    Raises ValueError for an unknown sort column.
    """
    if sort not in COLUMNS:
        raise ValueError(f"cannot sort by {sort!r}: use one of {', '.join(COLUMNS)}")
    ws = scope.workspace_id
    base = conn.execute(
        projects_select(
            scope,
            Project.project_id,
            Project.name,
            Project.account_id,
            Account.name,
            PROJECT_OWNER,
            TeamMember.name,
            Project.status,
            Project.playbook,
            last_visit(scope, Project.project_id),
        ).outerjoin(
            TeamMember,
            and_(TeamMember.workspace_id == ws, TeamMember.member_id == PROJECT_OWNER),
        )
    ).all()
    if not base:
        return ProjectsResult(scope=scope.describe(), sort=sort, descending=descending, projects=[])

    pairs = invited_pairs(scope).cte("pairs").prefix_with("MATERIALIZED", dialect="postgresql")
    logged = select(
        pairs.c.project_id, first_login(scope, pairs.c.project_id, pairs.c.user_id).label("first")
    ).subquery("logged")
    invited = {
        p: (n, m)
        for p, n, m in conn.execute(
            select(logged.c.project_id, func.count(), func.count(logged.c.first)).group_by(
                logged.c.project_id
            )
        )
    }
    visits = {
        p: (n, int(total or 0))
        for p, n, total in conn.execute(
            select(Session.project_id, func.count(), func.sum(Session.duration_ms))
            .where(sessions_in_window(scope), Session.project_id != PARTNER_PORTAL)
            .group_by(Session.project_id)
        )
    }
    tasks = task_counts(conn, scope)
    actions = last_actions(conn, scope)
    rows = []
    for project_id, name, account_id, account, owner_id, owner, status, playbook, last in base:
        n_sessions, total_ms = visits.get(project_id, (0, 0))
        n_invited, n_logged = invited.get(project_id, (0, 0))
        rows.append(
            ProjectRow(
                project_id=project_id,
                project=name,
                account_id=account_id,
                account=account,
                owner_id=owner_id,
                owner=owner,
                status=status,
                playbook=playbook,
                invited=n_invited,
                logged_in=n_logged,
                conversion=ratio(n_logged, n_invited),
                sessions=n_sessions,
                avg_session_seconds=seconds(total_ms, n_sessions),
                last_visit=last,
                last_action=actions.get(project_id),
                **tasks.get(project_id, TaskCounts()).model_dump(),
            )
        )
    return ProjectsResult(
        scope=scope.describe(),
        sort=sort,
        descending=descending,
        projects=sort_rows(rows, sort, descending, COLUMNS, _ties),
    )


def _ties(row: ProjectRow) -> tuple:
    return (sort_key(row.project), row.project_id)


def task_counts(conn: Connection, scope: Scope) -> dict[str, TaskCounts]:
    """Task counts per project in scope (projects without tasks are absent)."""
    assigned = Task.assignee_user_id.is_not(None)
    query = (
        select(
            Task.project_id,
            count_if(task_completed_in_window(scope)),
            count_if(and_(task_exists(scope), assigned)),
            count_if(and_(task_open(scope), Task.assignee_user_id.is_(None))),
            count_if(task_overdue(scope)),
        )
        .where(Task.workspace_id == scope.workspace_id, project_condition(scope, Task.project_id))
        .group_by(Task.project_id)
    )
    return {
        p: TaskCounts(
            tasks_completed=int(done),
            tasks_assigned=int(assigned_n),
            tasks_unassigned=int(unassigned),
            tasks_overdue=int(overdue),
        )
        for p, done, assigned_n, unassigned, overdue in conn.execute(query)
    }
