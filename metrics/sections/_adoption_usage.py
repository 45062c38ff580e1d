"""Adoption, usage half: active users, feature utilization, mobile share, KPI cards by role.

Helpers of :mod:`metrics.sections.adoption`; each runs one grouped query (or a few).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Connection, and_, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from metrics.ingest.contract import ACTIONS
from metrics.models import Event, Invite, Session, Task, User
from metrics.query import activity, portal_condition, project_condition
from metrics.query import sessions_in_window as sessions_condition
from metrics.results import seconds
from metrics.scope import Scope
from metrics.sections.kpis import KEYS, KpiValues

NO_ROLE = "unassigned"
"""Role label of users without a role (and of completed tasks without an assignee)."""


@dataclass(frozen=True)
class ActiveUsers:
    dau: int
    wau: int
    mau: int


def active_users(conn: Connection, scope: Scope) -> ActiveUsers:
    """Distinct users with a session on D, in the 7 and in the 30 days ending D (D = as_of date).

    Relative to as_of, not to the window; nothing after as_of is counted.
    """
    day = datetime.combine(scope.as_of_date or scope.as_of.date(), time(0), tzinfo=UTC)
    end = min(day + timedelta(days=1), scope.as_of)
    week, month = day - timedelta(days=6), day - timedelta(days=29)
    query = select(
        func.count(func.distinct(case((Session.started_at >= day, Session.user_id)))),
        func.count(func.distinct(case((Session.started_at >= week, Session.user_id)))),
        func.count(func.distinct(Session.user_id)),
    ).where(
        Session.workspace_id == scope.workspace_id,
        Session.started_at >= month,
        Session.started_at < end,
        portal_condition(scope, Session.project_id, Session.user_id),
    )
    dau, wau, mau = conn.execute(query).one()
    return ActiveUsers(dau, wau, mau)


def feature_users(conn: Connection, scope: Scope) -> dict[str, int]:
    """Per action kind (all of them, zero-filled): users with a session in the window who
    performed that action in the window, in a portal in scope."""
    # Distinct (action, user) pairs first, then only those of users with a session: far
    # fewer membership tests than one per action event.
    pairs = (
        select(Event.action, Event.user_id)
        .where(
            Event.workspace_id == scope.workspace_id,
            Event.type == "action",
            Event.occurred_at >= scope.start,
            Event.occurred_at < scope.until,
            portal_condition(scope, Event.project_id, Event.user_id),
        )
        .distinct()
        .subquery("pairs")
    )
    active = select(Session.user_id).where(sessions_condition(scope))
    query = (
        select(pairs.c.action, func.count())
        .where(pairs.c.user_id.in_(active))
        .group_by(pairs.c.action)
    )
    counts = dict.fromkeys(ACTIONS, 0)
    for action, users in conn.execute(query):
        if action in counts:
            counts[action] = users
    return counts


def _role(user_role: ColumnElement) -> ColumnElement:
    """The role label: the user's role, or :data:`NO_ROLE` when empty or there is no user."""
    return func.coalesce(func.nullif(user_role, ""), literal(NO_ROLE)).label("role")


def _user_of(scope: Scope, user_col: ColumnElement) -> ColumnElement:
    return and_(User.workspace_id == scope.workspace_id, User.user_id == user_col)


@dataclass
class WindowSessions:
    """Sessions in the window, those whose first event was on mobile, and distinct users."""

    sessions: int = 0
    mobile: int = 0
    users: int = 0


def kpis_by_role(conn: Connection, scope: Scope) -> tuple[dict[str, KpiValues], WindowSessions]:
    """The eight KPI cards of :mod:`metrics.sections.kpis`, split by the role of the user
    each record belongs to (invitee, event user, session user, task assignee), and the
    window's session totals (a user has one role, so distinct users add up over roles).

    The conditions are those of :func:`metrics.sections.kpis.values`, grouped by role:
    one query per source table. Roles with nothing in any card are left out.
    """
    ws = scope.workspace_id
    window = WindowSessions()
    cards: dict[str, dict[str, object]] = {}

    def put(role: str, **values: object) -> None:
        cards.setdefault(role, {}).update(values)

    role = _role(User.role)
    invites = (
        select(role, func.count())
        .select_from(Invite)
        .outerjoin(User, _user_of(scope, Invite.user_id))
        .where(
            Invite.workspace_id == ws,
            Invite.sent_at >= scope.start,
            Invite.sent_at < scope.until,
            portal_condition(scope, Invite.project_id, Invite.user_id),
        )
        .group_by(role)
    )
    for name, count in conn.execute(invites):
        put(name, invites_sent=count)

    # Events and sessions are first summed per user (one row each), then joined to users:
    # one role lookup per user instead of one per row.
    flows = activity(scope)
    per_user = (
        select(
            flows.c.user_id,
            func.sum(flows.c.logins).label("logins"),
            func.sum(flows.c.page_views).label("page_views"),
            func.sum(flows.c.actions).label("actions"),
        )
        .group_by(flows.c.user_id)
        .subquery("per_user")
    )
    events = (
        select(
            role,
            func.sum(per_user.c.logins),
            func.sum(per_user.c.page_views),
            func.sum(per_user.c.actions),
        )
        .select_from(per_user)
        .outerjoin(User, _user_of(scope, per_user.c.user_id))
        .group_by(role)
    )
    for name, logins, page_views, actions in conn.execute(events):
        put(
            name,
            logins=int(logins or 0),
            page_views=int(page_views or 0),
            actions=int(actions or 0),
        )

    visits = (
        select(
            Session.user_id,
            func.count().label("sessions"),
            func.sum(Session.duration_ms).label("total_ms"),
            func.sum(case((Session.device == "mobile", 1), else_=0)).label("mobile"),
        )
        .where(sessions_condition(scope))
        .group_by(Session.user_id)
        .subquery("visits")
    )
    sessions = (
        select(
            role,
            func.sum(visits.c.sessions),
            func.sum(visits.c.total_ms),
            func.count(),
            func.sum(visits.c.mobile),
        )
        .select_from(visits)
        .outerjoin(User, _user_of(scope, visits.c.user_id))
        .group_by(role)
    )
    for name, count, total_ms, users, mobile in conn.execute(sessions):
        count = int(count)
        put(
            name,
            sessions=count,
            avg_session_seconds=seconds(int(total_ms or 0), count),
            unique_users=users,
        )
        window.sessions += count
        window.mobile += int(mobile or 0)
        window.users += users

    tasks = (
        select(role, func.count())
        .select_from(Task)
        .outerjoin(User, _user_of(scope, Task.assignee_user_id))
        .where(
            Task.workspace_id == ws,
            Task.completed_at >= scope.start,
            Task.completed_at < scope.until,
            project_condition(scope, Task.project_id),
        )
        .group_by(role)
    )
    for name, count in conn.execute(tasks):
        put(name, tasks_completed=count)

    zero = dict.fromkeys(KEYS, 0) | {"avg_session_seconds": None}
    result = {name: KpiValues(**(zero | values)) for name, values in cards.items()}
    ordered = {
        name: result[name]
        for name in sorted(result, key=lambda n: (n == NO_ROLE, n))
        if result[name] != KpiValues(**zero)
    }
    return ordered, window
