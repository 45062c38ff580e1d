"""What one recipient's digest says, built only from the metrics layer.

The scope is the recipient's book for one ISO week: the ``owner`` filter (or
``team`` for a manager) over Monday to Sunday, as of the end of Sunday. Every
figure comes from a section or lookup called with that scope:

* KPI cards and their change against the week before — ``kpis`` (its previous
  window is the same seven days just before);
* most urgent risks with their numbers and next step — ``risks`` (project and
  partner signals; never-logged-in users go to the "to chase" list instead);
* wins — projects of the book that are ``live`` with their go-live date
  (``target_live_on``) in the week, and partners of the book whose rank on the
  workspace's ``leaderboard`` improved against the week before;
* to chase — the ``never_logged_in`` lookup (newest invites first) and the
  ``overdue_tasks`` lookup;
* the chart — ``trends`` by ISO week over the eight weeks ending with this one.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from assistant.digest.model import (
    Card,
    ChaseTask,
    ChaseUser,
    DigestContent,
    MemberLink,
    Risk,
    TrendPoint,
    Win,
)
from assistant.digest.store import Subscription, members
from assistant.digest.weeks import IsoWeek
from metrics.lookups import milestones
from metrics.lookups.never import never_logged_in
from metrics.lookups.tasks import overdue_tasks
from metrics.scope import Scope, Window, resolve_scope
from metrics.sections import kpis, leaderboard, risks, trends
from metrics.semantic.vocabulary import REGISTRY

TOP_RISKS = 5
TOP_CHASE = 8
TREND_WEEKS = 8
CARD_LABELS = {
    "sessions": "Visits",
    "unique_users": "Active users",
    "logins": "Logins",
    "actions": "Actions",
    "page_views": "Page views",
    "invites_sent": "Invites sent",
    "tasks_completed": "Tasks completed",
    "avg_session_seconds": "Avg. visit",
}
SIGNAL_LABELS = {name: signal.label for name, signal in REGISTRY.signals.items()}
"""The risk signals' labels, as the semantic registry declares them."""


class WeekData:
    """What every recipient of one week shares: the workspace leaderboards (this week and
    the week before), computed once per run instead of once per recipient."""

    def __init__(self) -> None:
        self._ranks: dict[tuple[int, str], dict[str, leaderboard.LeaderboardRow]] = {}
        self._lock = threading.Lock()  # digests of a run are built in several threads

    def ranks(self, conn: Connection, scope: Scope, key: str) -> dict[str, Any]:
        cache_key = (scope.workspace_id, key)
        with self._lock:
            return self._ranks_locked(conn, scope, cache_key)

    def _ranks_locked(
        self, conn: Connection, scope: Scope, cache_key: tuple[int, str]
    ) -> dict[str, Any]:
        if cache_key not in self._ranks:
            unfiltered = Scope(scope.workspace_id, scope.as_of, scope.window)
            board = leaderboard.compute(conn, unfiltered, page_size=1_000_000)
            self._ranks[cache_key] = {row.partner_id: row for row in board.rows}
        return self._ranks[cache_key]


def week_scope(
    conn: Connection, workspace_id: int, subscription: Subscription, week: IsoWeek
) -> Scope:
    """The recipient's book over the ISO week, as of the end of its Sunday."""
    members = subscription.scope_members
    return resolve_scope(
        conn,
        workspace_id,
        start=week.monday,
        end=week.sunday,
        as_of=week.sunday,
        owner=members[0] if len(members) == 1 else None,
        team=members if len(members) > 1 else (),
    )


def dashboard_url(base_url: str, week: IsoWeek, **filters: str | None) -> str:
    """The dashboard with the digest's week and the given filters (the page's query names)."""
    params = {"from": week.monday.isoformat(), "to": week.sunday.isoformat()}
    params["as_of"] = week.sunday.isoformat()
    params.update({k: v for k, v in filters.items() if v})
    return f"{base_url}/?{urlencode(params)}"


def build_content(
    conn: Connection,
    workspace_id: int,
    workspace: str,
    subscription: Subscription,
    week: IsoWeek,
    *,
    base_url: str,
    shared: WeekData | None = None,
) -> DigestContent:
    """The digest of ``subscription``'s book for ``week`` (no summary, no unsubscribe link)."""
    shared = shared or WeekData()
    scope = week_scope(conn, workspace_id, subscription, week)
    owner = subscription.member.member_id if not subscription.team else None
    names = members(conn, workspace_id)
    team = [
        MemberLink(
            member_id=m,
            name=names[m].name if m in names else m,
            link=dashboard_url(base_url, week, owner=m),
        )
        for m in subscription.team
    ]
    return DigestContent(
        workspace=workspace,
        week=week.label,
        first_day=week.monday,
        last_day=week.sunday,
        recipient_id=subscription.member.member_id,
        recipient=subscription.member.name,
        email=subscription.member.email or "",
        team=team,
        cards=_cards(conn, scope),
        **_risks(conn, scope, base_url, week),
        wins=_went_live(conn, scope, base_url, week)
        + _climbed(conn, scope, shared, base_url, week),
        **_chase(conn, scope),
        trend=_trend(conn, scope),
        dashboard_link=dashboard_url(base_url, week, owner=owner),
    )


def _cards(conn: Connection, scope: Scope) -> list[Card]:
    result = kpis.compute(conn, scope)
    return [
        Card(
            key=key,
            label=label,
            value=getattr(result.kpis, key),
            previous=getattr(result.previous, key),
            change_pct=result.change_pct[key],
        )
        for key, label in CARD_LABELS.items()
    ]


def _risks(conn: Connection, scope: Scope, base_url: str, week: IsoWeek) -> dict[str, Any]:
    result = risks.compute(conn, scope)
    signals = [s for s in result.signals if s.signal != "never_logged_in"]
    by_severity = {level: 0 for level in ("high", "medium", "low")}
    for s in signals:
        by_severity[s.severity] = by_severity.get(s.severity, 0) + 1
    top = [
        Risk(
            signal=s.signal,
            label=SIGNAL_LABELS.get(s.signal, s.signal.replace("_", " ").capitalize()),
            entity_type=s.entity_type,
            entity_id=s.entity_id,
            entity=s.entity,
            account=s.account,
            severity=s.severity,
            rule=s.rule,
            numbers={k: v for k, v in s.numbers.items() if v is not None},
            next_step=s.next_step,
            link=dashboard_url(base_url, week, account=s.account_id),
        )
        for s in signals[:TOP_RISKS]
    ]
    return {"risks": top, "risks_total": len(signals), "risks_by_severity": by_severity}


def _went_live(conn: Connection, scope: Scope, base_url: str, week: IsoWeek) -> list[Win]:
    return [
        Win(
            kind="went_live",
            entity_id=row.project_id,
            entity=row.project,
            account=row.account,
            went_live_on=row.went_live_on,
            link=dashboard_url(base_url, week, account=row.account_id),
        )
        for row in milestones.went_live(conn, scope, week.monday, week.sunday)
    ]


def _climbed(
    conn: Connection, scope: Scope, shared: WeekData, base_url: str, week: IsoWeek
) -> list[Win]:
    """Partners of the book ranked higher on the workspace leaderboard than the week before."""
    now = shared.ranks(conn, scope, week.label)
    before = shared.ranks(conn, scope.previous(), week.shift(-1).label)
    owners = set(scope.filters.team or (scope.filters.owner,))
    return [
        Win(
            kind="climbed",
            entity_id=row.partner_id,
            entity=row.partner,
            rank=row.rank,
            previous_rank=before[row.partner_id].rank,
            score=row.score,
            link=dashboard_url(base_url, week, account=row.partner_id),
        )
        for row in milestones.climbed(now, before, owners)[:TOP_RISKS]
    ]


def _chase(conn: Connection, scope: Scope) -> dict[str, Any]:
    never = never_logged_in(conn, scope)
    newest = sorted(never.rows, key=lambda r: (-r.invited_at.timestamp(), r.user, r.user_id))
    seen: set[str] = set()
    users = []
    for r in newest:
        if r.user_id in seen:
            continue
        seen.add(r.user_id)
        users.append(
            ChaseUser(
                user_id=r.user_id,
                user=r.user,
                email=r.email,
                account=r.account,
                portal=r.project or "Partner portal",
                days_since_invite=r.days_since_invite,
            )
        )
    tasks = overdue_tasks(conn, scope, limit=TOP_CHASE)
    return {
        "never_logged_in": users[:TOP_CHASE],
        "never_logged_in_total": never.total,
        "overdue_tasks": [
            ChaseTask(
                task_id=t.task_id,
                task=t.task,
                project=t.project,
                account=t.account,
                assignee=t.assignee,
                due_on=t.due_on,
                days_overdue=t.days_overdue,
            )
            for t in tasks.rows
        ],
        "overdue_tasks_total": tasks.total,
    }


def _trend(conn: Connection, scope: Scope) -> list[TrendPoint]:
    start = scope.start - timedelta(weeks=TREND_WEEKS - 1)
    result = trends.compute(conn, scope.with_window(Window(start, scope.window.end)), bucket="week")
    return [
        TrendPoint(week=row.period, sessions=row.sessions, unique_users=row.unique_users)
        for row in result.series
    ]


__all__ = [
    "CARD_LABELS",
    "DigestContent",
    "TrendPoint",
    "WeekData",
    "build_content",
    "dashboard_url",
    "week_scope",
]
