"""Overdue tasks one by one (the digest's "to chase" list).

The projects table counts overdue tasks per project (``tasks_overdue``); this
lookup lists the same tasks — the same predicate, :func:`task_overdue` — with
their project, assignee and due date, so a person can chase them by name.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy import Connection, and_, func, select

from metrics.models import Account, Project, Task, User
from metrics.query import projects_select
from metrics.scope import Scope
from metrics.sections._projects_state import task_overdue


class OverdueTask(BaseModel):
    task_id: str
    task: str
    project_id: str
    project: str
    account_id: str
    account: str
    assignee_user_id: str
    assignee: str | None
    assignee_email: str | None
    due_on: date
    days_overdue: int
    """Days from ``due_on`` to the UTC date of ``until`` (as of the end of D, due D → 1)."""


class OverdueTasks(BaseModel):
    scope: dict[str, object]
    total: int
    rows: list[OverdueTask]
    """Most overdue first (then project, task), at most ``limit``."""


def overdue_tasks(conn: Connection, scope: Scope, limit: int = 20) -> OverdueTasks:
    """Open assigned tasks due before the UTC date of ``until`` in the projects in scope."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    ws = scope.workspace_id
    in_scope = projects_select(scope).scalar_subquery()
    condition = and_(Task.workspace_id == ws, Task.project_id.in_(in_scope), task_overdue(scope))
    total = conn.scalar(select(func.count()).select_from(Task).where(condition))
    query = (
        select(
            Task.task_id,
            Task.title,
            Task.project_id,
            Project.name,
            Project.account_id,
            Account.name,
            Task.assignee_user_id,
            User.name,
            User.email,
            Task.due_on,
        )
        .select_from(Task)
        .join(Project, and_(Project.workspace_id == ws, Project.project_id == Task.project_id))
        .join(Account, and_(Account.workspace_id == ws, Account.account_id == Project.account_id))
        .outerjoin(User, and_(User.workspace_id == ws, User.user_id == Task.assignee_user_id))
        .where(condition)
        .order_by(Task.due_on, Project.name, Task.title, Task.task_id)
        .limit(limit)
    )
    state_day = scope.until.date()
    rows = [
        OverdueTask(
            task_id=r[0],
            task=r[1],
            project_id=r[2],
            project=r[3],
            account_id=r[4],
            account=r[5],
            assignee_user_id=r[6],
            assignee=r[7],
            assignee_email=r[8],
            due_on=r[9],
            days_overdue=(state_day - r[9]).days,
        )
        for r in conn.execute(query)
    ]
    return OverdueTasks(scope=scope.describe(), total=total or 0, rows=rows)
