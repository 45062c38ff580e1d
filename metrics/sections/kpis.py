"""KPI cards (SPEC §4.2), with the same cards for the previous window of equal length."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import Connection, and_, func, select

from metrics.models import Invite, Session, Task
from metrics.query import activity, portal_condition, project_condition, sessions_in_window
from metrics.results import Result, pct_change, seconds
from metrics.scope import Scope, iso

KEYS = (
    "invites_sent",
    "logins",
    "sessions",
    "tasks_completed",
    "avg_session_seconds",
    "unique_users",
    "page_views",
    "actions",
)


class KpiValues(BaseModel):
    invites_sent: int
    logins: int
    sessions: int
    tasks_completed: int
    avg_session_seconds: float | None
    unique_users: int
    page_views: int
    actions: int


class KpisResult(Result):
    section: str = "kpis"
    kpis: KpiValues
    previous: KpiValues
    previous_window: dict[str, str]
    change_pct: dict[str, float | None]
    """Percent change against ``previous`` per key; None where the previous value is 0."""


def invites_sent(conn: Connection, scope: Scope) -> int:
    """Invites sent in the window, to portals in scope."""
    return conn.scalar(
        select(func.count()).where(
            Invite.workspace_id == scope.workspace_id,
            Invite.sent_at >= scope.start,
            Invite.sent_at < scope.until,
            portal_condition(scope, Invite.project_id, Invite.user_id),
        )
    )


def flow_counts(conn: Connection, scope: Scope) -> tuple[int, int, int]:
    """Logins, page views and actions in the window."""
    flows = activity(scope)
    logins, page_views, actions = conn.execute(
        select(
            func.coalesce(func.sum(flows.c.logins), 0),
            func.coalesce(func.sum(flows.c.page_views), 0),
            func.coalesce(func.sum(flows.c.actions), 0),
        )
    ).one()
    return int(logins), int(page_views), int(actions)


def values(conn: Connection, scope: Scope) -> KpiValues:
    """The eight KPI values over ``scope``'s window."""
    logins, page_views, actions = flow_counts(conn, scope)
    count, total_ms, users = conn.execute(
        select(
            func.count(),
            func.sum(Session.duration_ms),
            func.count(func.distinct(Session.user_id)),
        ).where(sessions_in_window(scope))
    ).one()
    completed = conn.scalar(
        select(func.count()).where(
            and_(
                Task.workspace_id == scope.workspace_id,
                Task.completed_at >= scope.start,
                Task.completed_at < scope.until,
                project_condition(scope, Task.project_id),
            )
        )
    )
    return KpiValues(
        invites_sent=invites_sent(conn, scope),
        logins=logins,
        sessions=count,
        tasks_completed=completed,
        avg_session_seconds=seconds(total_ms and int(total_ms), count),
        unique_users=users,
        page_views=page_views,
        actions=actions,
    )


def compute(conn: Connection, scope: Scope) -> KpisResult:
    """KPI cards for the window and the previous window of the same length."""
    current = values(conn, scope)
    before_scope = scope.previous()
    before = values(conn, before_scope)
    return KpisResult(
        scope=scope.describe(),
        kpis=current,
        previous=before,
        previous_window={"from": iso(before_scope.start), "to": iso(before_scope.until)},
        change_pct={k: pct_change(getattr(current, k), getattr(before, k)) for k in KEYS},
    )
