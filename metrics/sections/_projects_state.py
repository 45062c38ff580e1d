"""SQL pieces shared by the project table and its per-user expansion (SPEC §4.4).

State metrics are evaluated at ``scope.until``. Nothing that happens at or
after ``until`` is seen: a task exists once it is created (a task without
``created_at`` always exists), and it is open until its ``completed_at``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from metrics.ingest.derive import CAP_MS
from metrics.models import (
    PARTNER_PORTAL,
    Event,
    Invite,
    Project,
    Session,
    Task,
    from_millis,
    to_millis,
)
from metrics.query import project_condition, projects_select
from metrics.scope import Scope


class LastAction(BaseModel):
    action: str
    at: datetime


def in_projects(
    scope: Scope, column: ColumnElement, project_ids: list[str] | None = None
) -> ColumnElement:
    """``column`` holds a project in scope (not the partner portal), among ``project_ids`` if given.

    Without filters this is a plain comparison, no subquery.
    """
    condition = and_(column != PARTNER_PORTAL, project_condition(scope, column))
    if project_ids is not None:
        condition = and_(condition, column.in_(project_ids))
    return condition


def invited_pairs(scope: Scope, project_ids: list[str] | None = None) -> Select:
    """(project_id, user_id, invited_at): users with an invite to a project in scope before until.

    ``invited_at`` is the first such invite.
    """
    return (
        select(
            Invite.project_id,
            Invite.user_id,
            func.min(Invite.sent_at).label("invited_at"),
        )
        .where(
            Invite.workspace_id == scope.workspace_id,
            Invite.sent_at < scope.until,
            in_projects(scope, Invite.project_id, project_ids),
        )
        .group_by(Invite.project_id, Invite.user_id)
    )


def first_login(scope: Scope, project_col: ColumnElement, user_col: ColumnElement) -> ColumnElement:
    """Correlated: the first login event of the user on the project before until, or NULL.

    Ordered LIMIT 1 on the session-key index of events, so it stops at the first login.
    """
    return (
        select(Event.occurred_at)
        .where(
            Event.workspace_id == scope.workspace_id,
            Event.user_id == user_col,
            Event.project_id == project_col,
            Event.occurred_at < scope.until,
            Event.type == "login",
        )
        .order_by(Event.occurred_at)
        .limit(1)
        .scalar_subquery()
    )


def last_visit(
    scope: Scope, project_col: ColumnElement, user_col: ColumnElement | None = None
) -> ColumnElement:
    """Correlated: start of the latest session on the project (of the user) before until."""
    query = select(func.max(Session.started_at)).where(
        Session.workspace_id == scope.workspace_id,
        Session.project_id == project_col,
        Session.started_at < scope.until,
    )
    if user_col is not None:
        query = query.where(Session.user_id == user_col)
    return query.scalar_subquery()


# -- tasks ----------------------------------------------------------------------------


def task_exists(scope: Scope) -> ColumnElement:
    """The task was created before until (no created_at counts as created)."""
    return or_(Task.created_at.is_(None), Task.created_at < scope.until)


def task_open(scope: Scope) -> ColumnElement:
    """The task exists at until and was not completed before it."""
    return and_(
        task_exists(scope), or_(Task.completed_at.is_(None), Task.completed_at >= scope.until)
    )


def task_overdue(scope: Scope) -> ColumnElement:
    """Open, assigned, and due before the UTC date of until (so at the end of D, due D counts)."""
    return and_(
        task_open(scope),
        Task.assignee_user_id.is_not(None),
        Task.due_on < scope.until.date(),
    )


def task_completed_in_window(scope: Scope) -> ColumnElement:
    return and_(Task.completed_at >= scope.start, Task.completed_at < scope.until)


def count_if(condition: ColumnElement) -> ColumnElement:
    """SUM of 1 where ``condition`` holds (0 when no row matches within a group)."""
    return func.sum(case((condition, literal(1)), else_=literal(0)))


# -- last action ----------------------------------------------------------------------


def last_actions(conn: Connection, scope: Scope) -> dict[str, LastAction]:
    """The latest action event before until per project in scope (absent when none).

    Found through sessions, without scanning events by time: a session's events
    lie in ``[started_at, started_at + 4 h)``, so a session with actions that
    starts at least 4 h before until is complete. Let S be the latest such
    start; the latest action is at or after S, so it lies in a session with
    actions that starts after S - 4 h (or after until - 4 h when there is no
    S). Only those sessions' events are read. Ties at the same instant go to
    the greatest event id.

    Two queries: the instant per project (correlated subqueries, so each
    project is one walk down the (project, time) index of sessions), then the
    action events at those instants.
    """
    latest = {
        project_id: at
        for project_id, at in conn.execute(
            projects_select(scope, Project.project_id, _last_action_ms(scope, Project.project_id))
        )
        if at is not None
    }
    if not latest:
        return {}
    occurred = type_coerce(Event.occurred_at, BigInteger)
    found: dict[str, tuple[str, LastAction]] = {}
    instants = sorted(set(latest.values()))
    for chunk in range(0, len(instants), 5000):
        rows = conn.execute(
            select(Event.project_id, Event.event_id, Event.action, occurred).where(
                Event.workspace_id == scope.workspace_id,
                occurred.in_(instants[chunk : chunk + 5000]),
                Event.type == "action",
            )
        )
        for project_id, event_id, action, at in rows:
            if latest.get(project_id) != at:
                continue
            if project_id not in found or event_id > found[project_id][0]:
                found[project_id] = (event_id, LastAction(action=action, at=from_millis(at)))
    return {p: action for p, (_, action) in found.items()}


def _last_action_ms(scope: Scope, project_col: ColumnElement) -> ColumnElement:
    """Correlated: epoch ms of the project's latest action event before until, or NULL.

    Sessions drive (the project's candidates, on the (project, time) index); each
    candidate's own events are then read on the session-key index.
    """
    ws = scope.workspace_id
    until_ms = to_millis(scope.until)
    complete = Session.__table__.alias("s_complete")
    complete_start = type_coerce(complete.c.started_at, BigInteger)
    latest_complete = (
        select(complete_start)
        .where(
            complete.c.workspace_id == ws,
            complete.c.project_id == project_col,
            complete_start <= until_ms - CAP_MS,
            complete.c.actions > 0,
        )
        .order_by(complete_start.desc())
        .limit(1)
        .correlate_except(complete)
        .scalar_subquery()
    )
    started = type_coerce(Session.started_at, BigInteger)
    occurred = type_coerce(Event.occurred_at, BigInteger)
    in_session = (
        select(func.max(occurred))
        .where(
            Event.workspace_id == ws,
            Event.user_id == Session.user_id,
            Event.project_id == Session.project_id,
            occurred >= started,
            occurred <= type_coerce(Session.ended_at, BigInteger),
            occurred < until_ms,
            Event.type == "action",
        )
        .correlate(Session)
        .scalar_subquery()
    )
    return (
        select(func.max(in_session))
        .where(
            Session.workspace_id == ws,
            Session.project_id == project_col,
            started > func.coalesce(latest_complete, until_ms) - CAP_MS,
            started < until_ms,
            Session.actions > 0,
        )
        .scalar_subquery()
    )
