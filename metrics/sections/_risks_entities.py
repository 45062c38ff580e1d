"""Per-project and per-partner facts for the risk signals, in a handful of grouped queries.

Projects come from :func:`metrics.query.projects_select`, partners from
:func:`metrics.query.partners_select`. "Before t" facts are anchored on ``t`` (as_of);
window facts (sessions, actions) use the scope's ``[start, until)``. Sessions are read
in ONE scan covering both the two declining-duration periods and the window, and flow
counts in one pass over the rollup; partner-portal rows are grouped per user and summed
per partner account in Python (users are few next to sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, literal, select

from metrics.models import PARTNER_PORTAL, Account, Project, Session, Task, User
from metrics.query import (
    PROJECT_OWNER,
    activity,
    partners_select,
    portal_condition,
    project_condition,
    projects_select,
)
from metrics.scope import Scope
from metrics.sections._risks_facts import Durations, EntityFacts, count_if, task_flags


@dataclass
class Facts:
    """Projects and partner accounts in scope, by id."""

    projects: dict[str, EntityFacts]
    partners: dict[str, EntityFacts]


def entity_facts(conn: Connection, scope: Scope, t: datetime, declining_days: int) -> Facts:
    """Every project and partner in scope with visits, durations, window activity, tasks."""
    projects = _projects(conn, scope, t)
    partners, partner_of = _partners(conn, scope, t)
    if not (projects or partners):
        return Facts(projects, partners)

    def target(project_id: str, user_id: str) -> EntityFacts | None:
        if project_id != PARTNER_PORTAL:
            return projects.get(project_id)
        account = partner_of.get(user_id)
        return partners.get(account) if account else None

    for project_id, user_id, *sums in _session_sums(conn, scope, t, declining_days):
        facts = target(project_id, user_id)
        if facts is not None:
            recent_ms, recent_n, before_ms, before_n, window_n = (int(v or 0) for v in sums)
            facts.recent = Durations(
                facts.recent.total_ms + recent_ms, facts.recent.count + recent_n
            )
            facts.before = Durations(
                facts.before.total_ms + before_ms, facts.before.count + before_n
            )
            facts.window_sessions += window_n
    flows = activity(scope)
    key = case((flows.c.project_id == PARTNER_PORTAL, flows.c.user_id), else_=literal(""))
    for project_id, user_id, page_views, actions in conn.execute(
        select(
            flows.c.project_id, key, func.sum(flows.c.page_views), func.sum(flows.c.actions)
        ).group_by(flows.c.project_id, key)
    ):
        facts = target(project_id, user_id)
        if facts is not None:
            facts.window_page_views += int(page_views or 0)
            facts.window_actions += int(actions or 0)
    if projects:
        _fill_tasks(conn, scope, t, projects)
    return Facts(projects, partners)


def _projects(conn: Connection, scope: Scope, t: datetime) -> dict[str, EntityFacts]:
    last_visit = (
        select(func.max(Session.started_at))
        .where(
            Session.workspace_id == scope.workspace_id,
            Session.project_id == Project.project_id,
            Session.started_at < t,
        )
        .scalar_subquery()
    )
    rows = conn.execute(
        projects_select(
            scope,
            Project.project_id,
            Project.name,
            Project.status,
            Project.account_id,
            Account.name,
            PROJECT_OWNER,
            last_visit,
        )
    )
    return {
        r[0]: EntityFacts(
            entity_id=r[0],
            name=r[1],
            status=r[2],
            account_id=r[3],
            account=r[4],
            owner_id=r[5],
            last_visit=r[6],
        )
        for r in rows
    }


def _partners(
    conn: Connection, scope: Scope, t: datetime
) -> tuple[dict[str, EntityFacts], dict[str, str]]:
    """Partners in scope (last partner-portal visit, users) and their users' accounts."""
    ws = scope.workspace_id
    partners = {
        account_id: EntityFacts(
            entity_id=account_id, name=name, account_id=account_id, account=name, owner_id=owner
        )
        for account_id, name, owner in conn.execute(
            partners_select(scope, Account.account_id, Account.name, Account.owner_id)
        )
    }
    if not partners:
        return partners, {}
    user_last = (
        select(func.max(Session.started_at))
        .where(
            Session.workspace_id == ws,
            Session.user_id == User.user_id,
            Session.project_id == PARTNER_PORTAL,
            Session.started_at < t,
        )
        .scalar_subquery()
    )
    partner_of = {}
    for user_id, account_id, last in conn.execute(
        select(User.user_id, User.account_id, user_last).where(
            User.workspace_id == ws,
            User.account_id.in_(partners_select(scope).scalar_subquery()),
        )
    ):
        partner_of[user_id] = account_id
        facts = partners[account_id]
        facts.users += 1
        if last is not None and (facts.last_visit is None or last > facts.last_visit):
            facts.last_visit = last
    return partners, partner_of


def _session_sums(conn: Connection, scope: Scope, t: datetime, days: int) -> list:
    """Per (portal, partner-portal user): recent/before duration sums and counts, window count.

    One scan of the sessions from the earliest of the two periods and the window up to
    ``t`` (``until`` is never after ``t``).
    """
    middle = t - timedelta(days=days)
    begin = t - timedelta(days=2 * days)
    started = Session.started_at
    recent = started >= middle
    before = and_(started >= begin, started < middle)
    window = and_(started >= scope.start, started < scope.until)
    key = case((Session.project_id == PARTNER_PORTAL, Session.user_id), else_=literal(""))
    return conn.execute(
        select(
            Session.project_id,
            key,
            func.sum(case((recent, Session.duration_ms), else_=literal(0))),
            count_if(recent),
            func.sum(case((before, Session.duration_ms), else_=literal(0))),
            count_if(before),
            count_if(window),
        )
        .where(
            Session.workspace_id == scope.workspace_id,
            started >= min(begin, scope.start),
            started < t,
            portal_condition(scope, Session.project_id, Session.user_id),
        )
        .group_by(Session.project_id, key)
    ).all()


def _fill_tasks(conn: Connection, scope: Scope, t: datetime, facts: dict[str, EntityFacts]) -> None:
    existing, is_open, due, overdue = task_flags(t)
    unassigned = and_(is_open, Task.assignee_user_id.is_(None))
    rows = conn.execute(
        select(
            Task.project_id,
            count_if(due),
            count_if(overdue),
            count_if(unassigned),
            count_if(is_open),
        )
        .where(
            Task.workspace_id == scope.workspace_id,
            existing,
            project_condition(scope, Task.project_id),
        )
        .group_by(Task.project_id)
    )
    for project_id, n_due, n_overdue, n_unassigned, n_open in rows:
        if project_id in facts:
            row = facts[project_id]
            row.tasks_due, row.tasks_overdue = int(n_due), int(n_overdue)
            row.tasks_unassigned, row.tasks_open = int(n_unassigned), int(n_open)
