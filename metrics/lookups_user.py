"""The profile of one portal user: their portals, activity, tasks and risk signals.

Only portals covered by the scope's filters count (:func:`metrics.query.portal_condition`);
flows are counted in ``[start, until)``, state (first invite, first login, last visit,
open tasks) at ``until``, and the never_logged_in signal at ``as_of`` like the risks
section.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Connection, and_, case, func, literal, select

from metrics.lookups_base import not_found
from metrics.models import (
    Account,
    Event,
    Invite,
    Project,
    Session,
    Task,
    TeamMember,
    User,
    to_millis,
)
from metrics.query import activity, portal_condition, project_condition
from metrics.results import seconds
from metrics.scope import Scope
from metrics.sections._risks_facts import (
    count_if,
    invite_pairs,
    members,
    project_identities,
    task_flags,
)
from metrics.sections._risks_rules import RiskThresholds, Signal
from metrics.sections._risks_signals import Builder


class UserPortal(BaseModel):
    """One portal of the user: invited to it or active in it."""

    project_id: str | None
    """None for the partner portal."""
    project: str | None
    invited_at: datetime | None
    """First invite to this portal before ``until``."""
    first_login: datetime | None
    last_visit: datetime | None
    """Start of the latest session before ``until``."""
    sessions: int
    """Sessions starting in the window."""
    avg_session_seconds: float | None
    logins: int
    page_views: int
    actions: int


class UserTasks(BaseModel):
    """Tasks assigned to the user, existing at ``until``."""

    open: int
    overdue: int
    completed_in_window: int


class UserProfile(BaseModel):
    scope: dict[str, object]
    user_id: str
    user: str
    email: str | None
    role: str | None
    account_id: str
    account: str
    account_kind: str
    owner_id: str | None
    """The account's owner."""
    owner: str | None
    sessions: int
    avg_session_seconds: float | None
    logins: int
    page_views: int
    actions: int
    first_login: datetime | None
    last_visit: datetime | None
    portals: list[UserPortal]
    tasks: UserTasks
    signals: list[Signal]


def _portal_facts(conn: Connection, scope: Scope, user_id: str) -> dict[str, dict]:
    """Per portal of the user: invited_at, first_login, last_visit, window sessions and flows."""
    ws, until = scope.workspace_id, scope.until
    facts: dict[str, dict] = {}

    def slot(project_id: str) -> dict:
        return facts.setdefault(
            project_id,
            {
                "invited_at": None,
                "first_login": None,
                "last_visit": None,
                "sessions": 0,
                "duration_ms": 0,
                "logins": 0,
                "page_views": 0,
                "actions": 0,
            },
        )

    for project_id, invited_at in conn.execute(
        select(Invite.project_id, func.min(Invite.sent_at))
        .where(
            Invite.workspace_id == ws,
            Invite.user_id == user_id,
            Invite.sent_at < until,
            portal_condition(scope, Invite.project_id, Invite.user_id),
        )
        .group_by(Invite.project_id)
    ):
        slot(project_id)["invited_at"] = invited_at
    for project_id, first_login in conn.execute(
        select(Event.project_id, func.min(Event.occurred_at))
        .where(
            Event.workspace_id == ws,
            Event.user_id == user_id,
            Event.occurred_at < until,
            Event.type == "login",
            portal_condition(scope, Event.project_id, Event.user_id),
        )
        .group_by(Event.project_id)
    ):
        slot(project_id)["first_login"] = first_login
    in_window = Session.started_at >= scope.start
    for project_id, last, count, total in conn.execute(
        select(
            Session.project_id,
            func.max(Session.started_at),
            count_if(in_window),
            func.sum(case((in_window, Session.duration_ms), else_=literal(0))),
        )
        .where(
            Session.workspace_id == ws,
            Session.user_id == user_id,
            # "+ 0" keeps SQLite on the (user, portal, start) index instead of a time scan.
            Session.started_at + literal(0) < to_millis(until),
            portal_condition(scope, Session.project_id, Session.user_id),
        )
        .group_by(Session.project_id)
    ):
        row = slot(project_id)
        row.update(last_visit=last, sessions=int(count), duration_ms=int(total or 0))
    flows = activity(scope)
    for project_id, logins, page_views, actions in conn.execute(
        select(
            flows.c.project_id,
            func.sum(flows.c.logins),
            func.sum(flows.c.page_views),
            func.sum(flows.c.actions),
        )
        .where(flows.c.user_id == user_id)
        .group_by(flows.c.project_id)
    ):
        slot(project_id).update(
            logins=int(logins), page_views=int(page_views), actions=int(actions)
        )
    return facts


def _tasks(conn: Connection, scope: Scope, user_id: str) -> UserTasks:
    existing, is_open, _due, overdue = task_flags(scope.until)
    completed = and_(Task.completed_at >= scope.start, Task.completed_at < scope.until)
    row = conn.execute(
        select(
            func.coalesce(count_if(and_(existing, is_open)), 0),
            func.coalesce(count_if(and_(existing, overdue)), 0),
            func.coalesce(count_if(completed), 0),
        ).where(
            Task.workspace_id == scope.workspace_id,
            Task.assignee_user_id == user_id,
            project_condition(scope, Task.project_id),
        )
    ).one()
    return UserTasks(open=row[0], overdue=row[1], completed_in_window=row[2])


def user_profile(conn: Connection, scope: Scope, user_id: str) -> UserProfile:
    """Everything about one user over the scope's portals."""
    ws = scope.workspace_id
    row = conn.execute(
        select(
            User.user_id,
            User.name,
            User.email,
            User.role,
            User.account_id,
            Account.name,
            Account.kind,
            Account.owner_id,
            TeamMember.name,
        )
        .join(Account, and_(Account.workspace_id == ws, Account.account_id == User.account_id))
        .outerjoin(
            TeamMember,
            and_(TeamMember.workspace_id == ws, TeamMember.member_id == Account.owner_id),
        )
        .where(User.workspace_id == ws, User.user_id == user_id)
    ).first()
    if row is None:
        raise not_found("user", user_id, f"no user with id {user_id!r} in this workspace")
    facts = _portal_facts(conn, scope, user_id)
    names = dict(
        conn.execute(
            select(Project.project_id, Project.name).where(
                Project.workspace_id == ws, Project.project_id.in_([p for p in facts if p])
            )
        ).all()
    )
    portals = sorted(
        (
            UserPortal(
                project_id=pid or None,
                project=names.get(pid) if pid else None,
                invited_at=f["invited_at"],
                first_login=f["first_login"],
                last_visit=f["last_visit"],
                sessions=f["sessions"],
                avg_session_seconds=seconds(f["duration_ms"], f["sessions"]),
                logins=f["logins"],
                page_views=f["page_views"],
                actions=f["actions"],
            )
            for pid, f in facts.items()
        ),
        key=lambda p: (p.project is None, p.project or "", p.project_id or ""),
    )
    pairs = invite_pairs(conn, scope, scope.as_of, Invite.user_id == user_id)
    identities = project_identities(conn, ws, {p.project_id for p in pairs if p.project_id})
    signals = Builder(members(conn, ws), RiskThresholds(), scope.as_of, ("", "")).never_logged_in(
        pairs, identities
    )
    sessions = sum(f["sessions"] for f in facts.values())
    logins = [f["first_login"] for f in facts.values() if f["first_login"]]
    visits = [f["last_visit"] for f in facts.values() if f["last_visit"]]
    return UserProfile(
        scope=scope.describe(),
        user_id=row[0],
        user=row[1],
        email=row[2],
        role=row[3],
        account_id=row[4],
        account=row[5],
        account_kind=row[6],
        owner_id=row[7],
        owner=row[8],
        sessions=sessions,
        avg_session_seconds=seconds(sum(f["duration_ms"] for f in facts.values()), sessions),
        logins=sum(f["logins"] for f in facts.values()),
        page_views=sum(f["page_views"] for f in facts.values()),
        actions=sum(f["actions"] for f in facts.values()),
        first_login=min(logins, default=None),
        last_visit=max(visits, default=None),
        portals=portals,
        tasks=_tasks(conn, scope, user_id),
        signals=signals,
    )
