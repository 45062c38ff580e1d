"""Facts about invites, logins and tasks that the risk signals and the lookups share.

Everything "before as_of" is anchored on an instant ``t`` (the risks section passes
``scope.as_of``, the lookups pass ``scope.until``). Invited users are chosen by
:func:`metrics.query.portal_condition` on their invites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)

from metrics.models import (
    Account,
    DailyActivity,
    Event,
    Invite,
    Project,
    Task,
    TeamMember,
    User,
)
from metrics.query import PROJECT_OWNER, midnight, portal_condition
from metrics.scope import Scope


@dataclass
class Durations:
    """Sessions of a period: exact total duration (ms) and count."""

    total_ms: int = 0
    count: int = 0


@dataclass
class EntityFacts:
    """What the signals need to know about one project or partner account."""

    entity_id: str
    name: str
    account_id: str
    account: str
    owner_id: str | None
    status: str | None = None
    last_visit: datetime | None = None
    """Start of the latest session before ``t`` (project portal, or the partner's users)."""
    recent: Durations = field(default_factory=Durations)
    """Sessions starting in ``[t - declining_days, t)``."""
    before: Durations = field(default_factory=Durations)
    """Sessions starting in ``[t - 2 * declining_days, t - declining_days)``."""
    window_sessions: int = 0
    window_page_views: int = 0
    window_actions: int = 0
    users: int = 0
    """Partners: users of the account. Projects: distinct invited users."""
    logged_in: int = 0
    """Projects: invited users with a login on the project before ``t``."""
    tasks_due: int = 0
    tasks_overdue: int = 0
    tasks_unassigned: int = 0
    tasks_open: int = 0


@dataclass(frozen=True)
class InvitePair:
    """A user invited to a portal (``project_id`` '' = partner portal) before ``t``."""

    user_id: str
    user: str
    email: str | None
    account_id: str
    account: str
    account_kind: str
    account_owner_id: str | None
    project_id: str
    invited_at: datetime
    """The first invite to that portal."""
    logged_in: bool
    """A login event on that portal before ``t``."""


def members(conn: Connection, workspace_id: int) -> dict[str, str]:
    """Team member names by id."""
    rows = conn.execute(
        select(TeamMember.member_id, TeamMember.name).where(TeamMember.workspace_id == workspace_id)
    )
    return {r[0]: r[1] for r in rows}


def logged_in_before(
    workspace_id: int, t: datetime, user_col: ColumnElement, project_col: ColumnElement
) -> ColumnElement:
    """EXISTS a login of (user, portal) before ``t``: daily rollup + events of a partial day."""
    day_start = midnight(t)
    whole = exists().where(
        DailyActivity.workspace_id == workspace_id,
        DailyActivity.user_id == user_col,
        DailyActivity.project_id == project_col,
        DailyActivity.day < day_start.date(),
        DailyActivity.logins > 0,
    )
    if t == day_start:
        return whole
    partial = exists().where(
        Event.workspace_id == workspace_id,
        Event.user_id == user_col,
        Event.project_id == project_col,
        Event.occurred_at >= day_start,
        Event.occurred_at < t,
        Event.type == "login",
    )
    return or_(whole, partial)


def invite_pairs(
    conn: Connection, scope: Scope, t: datetime, *conditions: ColumnElement
) -> list[InvitePair]:
    """Every (user, portal) with an in-scope invite sent before ``t``, and whether they logged in.

    ``conditions`` further restrict the invites (e.g. one project, one account's users).
    """
    ws = scope.workspace_id
    pairs = (
        select(
            Invite.user_id,
            Invite.project_id,
            func.min(Invite.sent_at).label("invited_at"),
        )
        .where(
            Invite.workspace_id == ws,
            Invite.sent_at < t,
            portal_condition(scope, Invite.project_id, Invite.user_id),
            *conditions,
        )
        .group_by(Invite.user_id, Invite.project_id)
        .subquery("pairs")
    )
    query = (
        select(
            pairs.c.user_id,
            User.name,
            User.email,
            User.account_id,
            Account.name,
            Account.kind,
            Account.owner_id,
            pairs.c.project_id,
            pairs.c.invited_at,
            logged_in_before(ws, t, pairs.c.user_id, pairs.c.project_id),
        )
        .select_from(pairs)
        .join(User, and_(User.workspace_id == ws, User.user_id == pairs.c.user_id))
        .join(
            Account,
            and_(Account.workspace_id == ws, Account.account_id == User.account_id),
        )
    )
    return [
        InvitePair(
            user_id=r[0],
            user=r[1],
            email=r[2],
            account_id=r[3],
            account=r[4],
            account_kind=r[5],
            account_owner_id=r[6],
            project_id=r[7],
            invited_at=r[8],
            logged_in=bool(r[9]),
        )
        for r in conn.execute(query)
    ]


def task_flags(t: datetime) -> tuple[ColumnElement, ColumnElement, ColumnElement, ColumnElement]:
    """(exists, open, due, overdue) conditions of a task at the state instant ``t``.

    A task exists once created (no created_at: always); it is open without a completion
    before ``t``; due when due_on is before the UTC date of ``t``; overdue when open,
    assigned and due.
    """
    cutoff: date = t.date()
    existing = or_(Task.created_at.is_(None), Task.created_at < t)
    is_open = or_(Task.completed_at.is_(None), Task.completed_at >= t)
    due = and_(Task.due_on.is_not(None), Task.due_on < cutoff)
    overdue = and_(is_open, Task.assignee_user_id.is_not(None), due)
    return existing, is_open, due, overdue


def count_if(condition: ColumnElement) -> ColumnElement:
    return func.sum(case((condition, literal(1)), else_=literal(0)))


def never_logged_in_users(pairs: list[InvitePair]) -> dict[str, list[InvitePair]]:
    """Users none of whose invited portals (among ``pairs``) has a login, with those pairs."""
    by_user: dict[str, list[InvitePair]] = {}
    for pair in pairs:
        by_user.setdefault(pair.user_id, []).append(pair)
    return {u: ps for u, ps in by_user.items() if not any(p.logged_in for p in ps)}


def project_identities(
    conn: Connection, workspace_id: int, ids: set[str]
) -> dict[str, EntityFacts]:
    """Name, account and owner of the given projects (no activity facts)."""
    if not ids:
        return {}
    rows = conn.execute(
        select(
            Project.project_id,
            Project.name,
            Project.status,
            Project.account_id,
            Account.name,
            PROJECT_OWNER,
        )
        .join(
            Account,
            and_(
                Account.workspace_id == Project.workspace_id,
                Account.account_id == Project.account_id,
            ),
        )
        .where(Project.workspace_id == workspace_id, Project.project_id.in_(ids))
    )
    return {
        r[0]: EntityFacts(
            entity_id=r[0], name=r[1], status=r[2], account_id=r[3], account=r[4], owner_id=r[5]
        )
        for r in rows
    }
