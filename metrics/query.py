"""SQL building blocks every section shares: what a scope covers, and flow counts.

**Which activity a scope covers.** Activity happens in a portal: a project's
portal, or the partner portal (``project_id = ''``). Filters select portals:

* project filters (playbook, status, projects) keep only matching projects
  and drop the partner portal;
* ``partner_type`` keeps only partner-portal activity of partners of that type;
* ``owner`` keeps projects whose owner is that member (a project without an
  owner falls back to its account's owner) and partner accounts they own;
  ``team`` does the same for any of several members (a manager's team);
* ``accounts`` keeps those accounts' projects and, for partner accounts, their
  users' partner-portal activity.

With no filter there is no condition at all, so the common case costs nothing.

**Flow counts** (logins, page views, actions) come from ``daily_activity`` for
whole days and from ``events`` for a partial last day (an as_of inside a day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.selectable import Subquery

from metrics.models import PARTNER_PORTAL, Account, DailyActivity, Event, Project, Session, User
from metrics.scope import Scope


@dataclass(frozen=True)
class Portals:
    """The portals a scope covers, as SQL selects of ids (None = all, no condition)."""

    projects: Select | None
    """``project_id``s covered; None means every project."""
    partners: Select | None
    """Partner ``account_id``s whose partner-portal activity is covered; None means all."""


PROJECT_OWNER = func.coalesce(Project.owner_id, Account.owner_id)
"""A project's owner, falling back to its account's owner (needs the account joined)."""


def projects_select(scope: Scope, *columns: object) -> Select:
    """Projects in scope joined to their account; selects ``columns`` (default: the id)."""
    f = scope.filters
    query = (
        select(*(columns or (Project.project_id,)))
        .select_from(Project)
        .join(
            Account,
            and_(
                Account.workspace_id == Project.workspace_id,
                Account.account_id == Project.account_id,
            ),
        )
        .where(Project.workspace_id == scope.workspace_id)
    )
    if f.partner_type:
        return query.where(false())
    if f.owner:
        query = query.where(f.owner == PROJECT_OWNER)
    if f.team:
        query = query.where(PROJECT_OWNER.in_(f.team))
    if f.accounts:
        query = query.where(Project.account_id.in_(f.accounts))
    if f.playbook:
        query = query.where(Project.playbook == f.playbook)
    if f.status:
        query = query.where(Project.status.in_(f.status))
    if f.projects:
        query = query.where(Project.project_id.in_(f.projects))
    return query


def partners_select(scope: Scope, *columns: object) -> Select:
    """Partner accounts in scope; selects ``columns`` (default: the id)."""
    f = scope.filters
    query = select(*(columns or (Account.account_id,))).where(
        Account.workspace_id == scope.workspace_id, Account.kind == "partner"
    )
    if f.playbook or f.status or f.projects:
        return query.where(false())
    if f.partner_type:
        query = query.where(Account.partner_type == f.partner_type)
    if f.owner:
        query = query.where(Account.owner_id == f.owner)
    if f.team:
        query = query.where(Account.owner_id.in_(f.team))
    if f.accounts:
        query = query.where(Account.account_id.in_(f.accounts))
    return query


def portals(scope: Scope) -> Portals:
    f = scope.filters
    owned = bool(f.owner or f.team)
    project_filtered = bool(owned or f.accounts or f.playbook or f.status or f.projects)
    partner_filtered = bool(owned or f.accounts or f.partner_type)
    return Portals(
        projects=projects_select(scope) if project_filtered or f.partner_type else None,
        partners=partners_select(scope)
        if partner_filtered or f.playbook or f.status or f.projects
        else None,
    )


def portal_condition(
    scope: Scope, project_col: ColumnElement, user_col: ColumnElement
) -> ColumnElement:
    """Condition on a (project_id, user_id) pair of columns: activity inside the scope."""
    covered = portals(scope)
    if covered.projects is None and covered.partners is None:
        return true()
    project_part = (
        project_col != PARTNER_PORTAL
        if covered.projects is None
        else project_col.in_(covered.projects.scalar_subquery())
    )
    if covered.partners is None:
        partner_part = project_col == PARTNER_PORTAL
    else:
        partner_users = select(User.user_id).where(
            User.workspace_id == scope.workspace_id,
            User.account_id.in_(covered.partners.scalar_subquery()),
        )
        partner_part = and_(project_col == PARTNER_PORTAL, user_col.in_(partner_users))
    f = scope.filters
    if f.playbook or f.status or f.projects:  # project-only filters: no partner portal
        return project_part
    if f.partner_type:  # partner-only filter: no project portals
        return partner_part
    return or_(project_part, partner_part)


def project_condition(scope: Scope, project_col: ColumnElement) -> ColumnElement:
    """Condition on a project id column (tasks): the project is in scope."""
    covered = portals(scope)
    if covered.projects is None:
        return true()
    return project_col.in_(covered.projects.scalar_subquery())


# -- time ------------------------------------------------------------------------------


def midnight(value: datetime) -> datetime:
    return datetime.combine(value.astimezone(UTC).date(), time(0), tzinfo=UTC)


def sessions_in_window(scope: Scope) -> ColumnElement:
    """Sessions of the workspace that start inside ``[start, until)`` and are in scope."""
    return and_(
        Session.workspace_id == scope.workspace_id,
        Session.started_at >= scope.start,
        Session.started_at < scope.until,
        portal_condition(scope, Session.project_id, Session.user_id),
    )


def activity(scope: Scope, *, start: datetime | None = None) -> Subquery:
    """Flow counts per (user_id, project_id, day) row in ``[start, until)`` and in scope.

    Columns: ``user_id, project_id, logins, page_views, actions``. Whole days come
    from ``daily_activity``; a partial last day is counted from ``events``.
    """
    begin = start or scope.start
    until = scope.until
    whole_until = midnight(until)
    daily = select(
        DailyActivity.user_id,
        DailyActivity.project_id,
        DailyActivity.logins,
        DailyActivity.page_views,
        DailyActivity.actions,
    ).where(
        DailyActivity.workspace_id == scope.workspace_id,
        DailyActivity.day >= begin.date(),
        DailyActivity.day < whole_until.date(),
        portal_condition(scope, DailyActivity.project_id, DailyActivity.user_id),
    )
    if until == whole_until:
        return daily.subquery("activity")
    partial_from = max(whole_until, begin)
    partial = (
        select(
            Event.user_id,
            Event.project_id,
            func.sum(one_if(Event.type, "login")).label("logins"),
            func.sum(one_if(Event.type, "page_view")).label("page_views"),
            func.sum(one_if(Event.type, "action")).label("actions"),
        )
        .where(
            Event.workspace_id == scope.workspace_id,
            Event.occurred_at >= partial_from,
            Event.occurred_at < until,
            portal_condition(scope, Event.project_id, Event.user_id),
        )
        .group_by(Event.user_id, Event.project_id)
    )
    return union_all(daily, partial).subquery("activity")


def one_if(column: ColumnElement, value: str) -> ColumnElement:
    """1 when ``column = value`` else 0, portable."""
    return case((column == value, literal(1)), else_=literal(0))
