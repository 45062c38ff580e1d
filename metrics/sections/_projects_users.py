"""The per-user expansion of the project table (SPEC §4.4): one row per invited user.

A user belongs to a project's expansion when they were invited to it before
until. Flow columns (logins, sessions, tasks_completed) count in the window;
the others are states at until.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, func, select

from metrics.models import PARTNER_PORTAL, Account, Project, Session, Task, User
from metrics.query import activity, sessions_in_window
from metrics.scope import Scope
from metrics.sections._projects_sort import sort_key
from metrics.sections._projects_state import (
    count_if,
    first_login,
    in_projects,
    invited_pairs,
    last_visit,
    task_completed_in_window,
    task_open,
)


class ProjectUserRow(BaseModel):
    project_id: str
    project: str
    user_id: str
    user: str
    account_id: str
    """The user's own account."""
    account: str
    invited_at: datetime
    """First invite of the user to the project before until."""
    first_login: datetime | None
    """First login event of the user on the project before until (at any earlier time)."""
    last_visit: datetime | None
    """Start of the user's latest session on the project before until."""
    logins: int
    sessions: int
    tasks_completed: int
    """Tasks of the project assigned to the user and completed in the window."""
    open_assigned_tasks: int
    """Tasks of the project assigned to the user and open at until."""


USER_COLUMNS = tuple(ProjectUserRow.model_fields)


def user_ties(row: ProjectUserRow) -> tuple:
    """Default and tie order: user name, project name, then ids."""
    return (sort_key(row.user), sort_key(row.project), row.user_id, row.project_id)


def project_users(
    conn: Connection, scope: Scope, project_ids: list[str] | None = None
) -> list[ProjectUserRow]:
    """One row per (project in scope, user invited to it before until), by project then user.

    ``project_ids`` narrows the projects (ids outside the scope yield no rows).
    """
    rows = unordered_project_users(conn, scope, project_ids)
    rows.sort(key=lambda r: (sort_key(r.project), r.project_id, *user_ties(r)))
    return rows


def unordered_project_users(
    conn: Connection, scope: Scope, project_ids: list[str] | None = None
) -> list[ProjectUserRow]:
    """The rows of :func:`project_users`, in no particular order."""
    ws = scope.workspace_id
    pairs = (
        invited_pairs(scope, project_ids)
        .cte("pairs")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    project_name = (
        select(Project.name)
        .where(Project.workspace_id == ws, Project.project_id == pairs.c.project_id)
        .scalar_subquery()
    )
    account_name = (
        select(Account.name)
        .where(
            Account.workspace_id == ws,
            Account.account_id == _user_column(ws, User.account_id, pairs.c.user_id),
        )
        .scalar_subquery()
    )
    # Names come from correlated look-ups on primary keys: one plan whatever the statistics.
    base = conn.execute(
        select(
            pairs.c.project_id,
            project_name,
            pairs.c.user_id,
            _user_column(ws, User.name, pairs.c.user_id),
            _user_column(ws, User.account_id, pairs.c.user_id),
            account_name,
            pairs.c.invited_at,
            first_login(scope, pairs.c.project_id, pairs.c.user_id),
            last_visit(scope, pairs.c.project_id, pairs.c.user_id),
        )
    ).all()
    if not base:
        return []

    def narrowed(column: ColumnElement) -> ColumnElement:
        return column != PARTNER_PORTAL if project_ids is None else column.in_(project_ids)

    flows = activity(scope)
    logins = _by_pair(
        conn,
        select(flows.c.project_id, flows.c.user_id, func.sum(flows.c.logins))
        .where(narrowed(flows.c.project_id))
        .group_by(flows.c.project_id, flows.c.user_id),
    )
    sessions = _by_pair(
        conn,
        select(Session.project_id, Session.user_id, func.count())
        .where(sessions_in_window(scope), narrowed(Session.project_id))
        .group_by(Session.project_id, Session.user_id),
    )
    tasks = {
        (p, u): (int(done or 0), int(still_open or 0))
        for p, u, done, still_open in conn.execute(
            select(
                Task.project_id,
                Task.assignee_user_id,
                count_if(task_completed_in_window(scope)),
                count_if(task_open(scope)),
            )
            .where(
                Task.workspace_id == ws,
                Task.assignee_user_id.is_not(None),
                in_projects(scope, Task.project_id, project_ids),
            )
            .group_by(Task.project_id, Task.assignee_user_id)
        )
    }
    rows = []
    for project_id, project, user_id, user, account_id, account, invited, first, last in base:
        key = (project_id, user_id)
        done, still_open = tasks.get(key, (0, 0))
        rows.append(
            ProjectUserRow(
                project_id=project_id,
                project=project,
                user_id=user_id,
                user=user,
                account_id=account_id,
                account=account,
                invited_at=invited,
                first_login=first,
                last_visit=last,
                logins=logins.get(key, 0),
                sessions=sessions.get(key, 0),
                tasks_completed=done,
                open_assigned_tasks=still_open,
            )
        )
    return rows


def _by_pair(conn: Connection, query: object) -> dict[tuple[str, str], int]:
    return {(p, u): int(n or 0) for p, u, n in conn.execute(query)}  # type: ignore[arg-type]


def _user_column(ws: int, column: ColumnElement, user_col: ColumnElement) -> ColumnElement:
    """Correlated: ``column`` of the user whose id is ``user_col`` (a primary-key look-up)."""
    return (
        select(column)
        .where(User.workspace_id == ws, User.user_id == user_col)
        .correlate_except(User)
        .scalar_subquery()
    )
