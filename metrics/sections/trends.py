"""Trends (SPEC §4.3): the KPI flow series per day, ISO week or month of the window.

Every bucket overlapping ``[start, until)`` is present and zero-filled; only
activity inside the window is counted, so a week that starts before the window
holds only its in-window days and the series add up to the KPI cards.
Each series is one grouped query: instants are keyed by bucket in SQL (integer
day arithmetic on epoch milliseconds); daily login/page-view/action counts come
from ``daily_activity`` by day (plus raw events for a partial last day) and are
rolled up into buckets here.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy import Connection, func, select

from metrics.models import DailyActivity, Event, Invite, Session, Task
from metrics.query import (
    midnight,
    one_if,
    portal_condition,
    project_condition,
    sessions_in_window,
)
from metrics.results import Result
from metrics.scope import Scope
from metrics.sections._projects_time import bucket_key, choose_bucket, label, periods

SERIES = (
    "invites_sent",
    "logins",
    "sessions",
    "tasks_completed",
    "page_views",
    "actions",
    "unique_users",
)


class TrendRow(BaseModel):
    period: date
    """The bucket's label: the day, the Monday of the ISO week, or the month's first day."""
    invites_sent: int = 0
    logins: int = 0
    sessions: int = 0
    tasks_completed: int = 0
    page_views: int = 0
    actions: int = 0
    unique_users: int = 0
    """Distinct users with a session starting in this bucket (and in the window)."""


class TrendsResult(Result):
    section: str = "trends"
    bucket: str
    series: list[TrendRow]


def compute(conn: Connection, scope: Scope, bucket: str | None = None) -> TrendsResult:
    """The seven trend series of ``scope``, bucketed by ``bucket`` (day/week/month; auto if None).

    Raises ValueError for an unknown bucket name.
    """
    size = choose_bucket(scope, bucket)
    labels = periods(scope, size)
    rows = {p: dict.fromkeys(SERIES, 0) for p in labels}
    if labels:
        for series, counts in _keyed_counts(conn, scope, size, labels).items():
            for index, value in counts:
                rows[labels[index]][series] += int(value)
        for day, logins, page_views, actions in _daily_flows(conn, scope):
            row = rows[label(day, size)]
            row["logins"] += int(logins)
            row["page_views"] += int(page_views)
            row["actions"] += int(actions)
    return TrendsResult(
        scope=scope.describe(),
        bucket=size,
        series=[TrendRow(period=p, **values) for p, values in rows.items()],
    )


def _keyed_counts(
    conn: Connection, scope: Scope, size: str, labels: list[date]
) -> dict[str, list[tuple[int, int]]]:
    """(bucket index, count) pairs per series for invites, sessions, users and tasks."""
    ws = scope.workspace_id
    out: dict[str, list[tuple[int, int]]] = {}

    key = bucket_key(Invite.sent_at, size, labels).label("k")
    out["invites_sent"] = _pairs(
        conn,
        select(key, func.count())
        .where(
            Invite.workspace_id == ws,
            Invite.sent_at >= scope.start,
            Invite.sent_at < scope.until,
            portal_condition(scope, Invite.project_id, Invite.user_id),
        )
        .group_by(key),
    )

    key = bucket_key(Session.started_at, size, labels).label("k")
    sessions = conn.execute(
        select(key, func.count(), func.count(func.distinct(Session.user_id)))
        .where(sessions_in_window(scope))
        .group_by(key)
    ).all()
    out["sessions"] = [(int(k), n) for k, n, _ in sessions]
    out["unique_users"] = [(int(k), users) for k, _, users in sessions]

    key = bucket_key(Task.completed_at, size, labels).label("k")
    out["tasks_completed"] = _pairs(
        conn,
        select(key, func.count())
        .where(
            Task.workspace_id == ws,
            Task.completed_at >= scope.start,
            Task.completed_at < scope.until,
            project_condition(scope, Task.project_id),
        )
        .group_by(key),
    )
    return out


def _pairs(conn: Connection, query: object) -> list[tuple[int, int]]:
    return [(int(k), int(n)) for k, n in conn.execute(query)]  # type: ignore[arg-type]


def _daily_flows(conn: Connection, scope: Scope) -> list[tuple[date, int, int, int]]:
    """(day, logins, page_views, actions) per UTC day in the window and in scope.

    Whole days come from ``daily_activity``; a partial last day (until inside a
    day) is counted from raw events, like :func:`metrics.query.activity`.
    """
    ws = scope.workspace_id
    whole_until = midnight(scope.until)
    out = [
        tuple(r)
        for r in conn.execute(
            select(
                DailyActivity.day,
                func.sum(DailyActivity.logins),
                func.sum(DailyActivity.page_views),
                func.sum(DailyActivity.actions),
            )
            .where(
                DailyActivity.workspace_id == ws,
                DailyActivity.day >= scope.start.date(),
                DailyActivity.day < whole_until.date(),
                portal_condition(scope, DailyActivity.project_id, DailyActivity.user_id),
            )
            .group_by(DailyActivity.day)
        )
    ]
    if scope.until > whole_until:
        logins, page_views, actions = conn.execute(
            select(
                func.coalesce(func.sum(one_if(Event.type, "login")), 0),
                func.coalesce(func.sum(one_if(Event.type, "page_view")), 0),
                func.coalesce(func.sum(one_if(Event.type, "action")), 0),
            ).where(
                Event.workspace_id == ws,
                Event.occurred_at >= max(whole_until, scope.start),
                Event.occurred_at < scope.until,
                portal_condition(scope, Event.project_id, Event.user_id),
            )
        ).one()
        out.append((whole_until.date(), logins, page_views, actions))
    return out  # type: ignore[return-value]
