"""One-answer profiles of a project, an account (customer or partner) and a user.

A profile narrows the scope to its entity (``projects=(id,)`` or ``accounts=(id,)``,
other filters kept) and reuses the sections: KPI cards from
:func:`metrics.sections.kpis.values`, health and signals from
:func:`metrics.sections.risks.compute`. State figures (invited, logged in, last visit,
tasks) are taken at the scope's ``until``; risk signals at ``as_of`` like the risks
section. Unknown ids raise :class:`ResolveError` of kind ``not_found``; an entity that the
scope's other filters exclude, of kind ``out_of_scope``.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import Connection, and_, func, select

from metrics.lookups_base import narrow, not_found, out_of_scope
from metrics.models import PARTNER_PORTAL, Account, Project, Session, Task, TeamMember, User
from metrics.query import (
    PROJECT_OWNER,
    partners_select,
    project_condition,
    projects_select,
)
from metrics.results import ratio
from metrics.scope import Scope
from metrics.sections import risks
from metrics.sections._risks_facts import InvitePair, count_if, invite_pairs, task_flags
from metrics.sections.kpis import KpiValues, values

__all__ = [
    "AccountProfile",
    "PartnerProfile",
    "ProjectProfile",
    "TaskCounts",
    "account_profile",
    "partner_profile",
    "project_profile",
]


class TaskCounts(BaseModel):
    """Tasks existing at ``until``: open, open and overdue, open without assignee, due."""

    open: int
    overdue: int
    unassigned: int
    due: int


class ProjectProfile(BaseModel):
    scope: dict[str, object]
    project_id: str
    project: str
    account_id: str
    account: str
    owner_id: str | None
    owner: str | None
    status: str
    playbook: str | None
    started_on: date | None
    target_live_on: date | None
    kpis: KpiValues
    invited: int
    logged_in: int
    never_logged_in: int
    conversion: float | None
    """logged_in ÷ invited."""
    last_visit: datetime | None
    tasks: TaskCounts
    health: risks.ProjectHealth | None
    signals: list[risks.Signal]


class AccountProfile(BaseModel):
    scope: dict[str, object]
    account_id: str
    account: str
    kind: str
    partner_type: str | None
    owner_id: str | None
    owner: str | None
    users: int
    """Users of the account."""
    kpis: KpiValues
    invited: int
    """Distinct users invited to the account's portals before ``until``."""
    logged_in: int
    """Of those, users who logged in to at least one portal they were invited to."""
    never_logged_in: int
    """invited − logged_in: no login on any of the account's portals they were invited to."""
    last_visit: datetime | None
    tasks: TaskCounts
    projects: list[risks.ProjectHealth]
    signals: list[risks.Signal]


class PartnerProfile(AccountProfile):
    """The profile of an account of kind partner."""


def _member(conn: Connection, workspace_id: int, member_id: str | None) -> str | None:
    if not member_id:
        return None
    return conn.scalar(
        select(TeamMember.name).where(
            TeamMember.workspace_id == workspace_id, TeamMember.member_id == member_id
        )
    )


def _invites(pairs: list[InvitePair]) -> tuple[int, int, int]:
    """(invited, logged in to a portal invited to, never logged in) distinct users."""
    invited = {p.user_id for p in pairs}
    logged = {p.user_id for p in pairs if p.logged_in}
    return len(invited), len(logged), len(invited - logged)


def _last_visit(conn: Connection, scope: Scope) -> datetime | None:
    """Start of the latest session before ``until`` in the scope's projects or partner portal.

    One correlated index seek per project and per partner user, never a time scan.
    """
    ws, until = scope.workspace_id, scope.until
    per_project = (
        select(func.max(Session.started_at))
        .where(
            Session.workspace_id == ws,
            Session.project_id == Project.project_id,
            Session.started_at < until,
        )
        .scalar_subquery()
    )
    per_user = (
        select(func.max(Session.started_at))
        .where(
            Session.workspace_id == ws,
            Session.user_id == User.user_id,
            Session.project_id == PARTNER_PORTAL,
            Session.started_at < until,
        )
        .scalar_subquery()
    )
    projects = select(func.max(projects_select(scope, per_project.label("v")).subquery().c.v))
    partner_users = select(User.user_id, per_user.label("v")).where(
        User.workspace_id == ws, User.account_id.in_(partners_select(scope).scalar_subquery())
    )
    users = select(func.max(partner_users.subquery().c.v))
    found = [conn.scalar(projects), conn.scalar(users)]
    return max((v for v in found if v is not None), default=None)


def _tasks(conn: Connection, scope: Scope) -> TaskCounts:
    existing, is_open, due, overdue = task_flags(scope.until)
    unassigned = and_(is_open, Task.assignee_user_id.is_(None))
    row = conn.execute(
        select(
            func.coalesce(count_if(is_open), 0),
            func.coalesce(count_if(overdue), 0),
            func.coalesce(count_if(unassigned), 0),
            func.coalesce(count_if(due), 0),
        ).where(
            Task.workspace_id == scope.workspace_id,
            existing,
            project_condition(scope, Task.project_id),
        )
    ).one()
    return TaskCounts(open=row[0], overdue=row[1], unassigned=row[2], due=row[3])


def project_profile(conn: Connection, scope: Scope, project_id: str) -> ProjectProfile:
    """Everything about one project over the scope: identity, KPIs, invites, tasks, risks."""
    ws = scope.workspace_id
    row = conn.execute(
        select(
            Project.project_id,
            Project.name,
            Project.account_id,
            Account.name,
            PROJECT_OWNER,
            Project.status,
            Project.playbook,
            Project.started_on,
            Project.target_live_on,
        )
        .join(
            Account,
            and_(
                Account.workspace_id == Project.workspace_id,
                Account.account_id == Project.account_id,
            ),
        )
        .where(Project.workspace_id == ws, Project.project_id == project_id)
    ).first()
    if row is None:
        raise not_found(
            "project", project_id, f"no project with id {project_id!r} in this workspace"
        )
    narrowed = narrow(scope, projects=(project_id,))
    if conn.scalar(projects_select(narrowed)) is None:
        raise out_of_scope(
            "project",
            project_id,
            f"project {project_id!r} ({row[1]}) is outside the current filters "
            f"{scope.filters.as_dict()}; drop them to see it",
        )
    invited, logged_in, waiting = _invites(invite_pairs(conn, narrowed, scope.until))
    found = risks.compute(conn, narrowed)
    return ProjectProfile(
        scope=narrowed.describe(),
        project_id=row[0],
        project=row[1],
        account_id=row[2],
        account=row[3],
        owner_id=row[4],
        owner=_member(conn, ws, row[4]),
        status=row[5],
        playbook=row[6],
        started_on=row[7],
        target_live_on=row[8],
        kpis=values(conn, narrowed),
        invited=invited,
        logged_in=logged_in,
        never_logged_in=waiting,
        conversion=ratio(logged_in, invited),
        last_visit=_last_visit(conn, narrowed),
        tasks=_tasks(conn, narrowed),
        health=found.projects[0] if found.projects else None,
        signals=found.signals,
    )


def account_profile(conn: Connection, scope: Scope, account_id: str) -> AccountProfile:
    """Everything about one account (customer or partner) over the scope."""
    return _account(conn, scope, account_id, AccountProfile)


def partner_profile(conn: Connection, scope: Scope, account_id: str) -> PartnerProfile:
    """Everything about one partner account over the scope; a customer id is not found."""
    profile = _account(conn, scope, account_id, PartnerProfile, partner_only=True)
    assert isinstance(profile, PartnerProfile)
    return profile


def _account(
    conn: Connection,
    scope: Scope,
    account_id: str,
    model: type[AccountProfile],
    partner_only: bool = False,
) -> AccountProfile:
    ws = scope.workspace_id
    row = conn.execute(
        select(
            Account.account_id, Account.name, Account.kind, Account.partner_type, Account.owner_id
        ).where(Account.workspace_id == ws, Account.account_id == account_id)
    ).first()
    if row is None:
        what = "partner account" if partner_only else "account"
        raise not_found(
            "account", account_id, f"no {what} with id {account_id!r} in this workspace"
        )
    if partner_only and row[2] != "partner":
        raise not_found(
            "partner", account_id, f"account {account_id!r} ({row[1]}) is a customer, not a partner"
        )
    narrowed = narrow(scope, accounts=(account_id,))
    others = narrow(scope, accounts=()).filters
    covered = conn.scalar(projects_select(narrowed)) or conn.scalar(partners_select(narrowed))
    if not others.empty and covered is None:
        raise out_of_scope(
            "account",
            account_id,
            f"account {account_id!r} ({row[1]}) is outside the current filters "
            f"{others.as_dict()}; drop them to see it",
        )
    users = conn.scalar(
        select(func.count()).where(User.workspace_id == ws, User.account_id == account_id)
    )
    invited, logged_in, waiting = _invites(invite_pairs(conn, narrowed, scope.until))
    found = risks.compute(conn, narrowed)
    return model(
        scope=narrowed.describe(),
        account_id=row[0],
        account=row[1],
        kind=row[2],
        partner_type=row[3],
        owner_id=row[4],
        owner=_member(conn, ws, row[4]),
        users=users,
        kpis=values(conn, narrowed),
        invited=invited,
        logged_in=logged_in,
        never_logged_in=waiting,
        last_visit=_last_visit(conn, narrowed),
        tasks=_tasks(conn, narrowed),
        projects=found.projects,
        signals=found.signals,
    )
