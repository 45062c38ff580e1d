"""Adoption, support half: activation after the first invite, and support tickets.

Helpers of :mod:`metrics.sections.adoption`; one query each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import (
    BigInteger,
    Connection,
    case,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from metrics.models import MS_PER_DAY, Event, Invite, Project, Session, Ticket, User
from metrics.query import partners_select, portal_condition, projects_select
from metrics.scope import Scope

ACTIVATION_DAYS = 90
"""A user is activated when they log in within this many days of their first invite."""
ACTIVATION_BENCHMARK = 0.6
"""A common benchmark for the activation rate."""
TICKET_LOOKBACK_MS = 24 * 3_600_000
"""A ticket follows portal use when a session of its user ended this long before it, or less."""


@dataclass(frozen=True)
class Activation:
    eligible: int
    activated: int


def activation(conn: Connection, scope: Scope) -> Activation:
    """Users whose first invite (in scope) was sent at least 90 days before ``until``, and
    how many of them logged in (in a portal in scope) within 90 days of that invite:
    a login at ``t`` with ``first <= t < first + 90 days``."""
    ws = scope.workspace_id
    cutoff = scope.until - timedelta(days=ACTIVATION_DAYS)
    # Any invite at or before the cutoff makes the user eligible, and then the user's
    # earliest invite is also the earliest among those.
    first = (
        select(Invite.user_id, func.min(Invite.sent_at).label("first"))
        .where(
            Invite.workspace_id == ws,
            Invite.sent_at <= cutoff,
            portal_condition(scope, Invite.project_id, Invite.user_id),
        )
        .group_by(Invite.user_id)
        .subquery("first_invites")
    )
    first_ms = type_coerce(first.c.first, BigInteger)
    # ``+ 0``: no index range on the time (a 90-day range of everybody's events per user);
    # SQLite walks the user's own events on the session-key index instead.
    occurred = type_coerce(Event.occurred_at, BigInteger) + 0
    logged_in = exists().where(
        Event.workspace_id == ws,
        Event.user_id == first.c.user_id,
        Event.type == "login",
        occurred >= first_ms,
        occurred < first_ms + ACTIVATION_DAYS * MS_PER_DAY,
        portal_condition(scope, Event.project_id, Event.user_id),
    )
    eligible, activated = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((logged_in, 1), else_=0)), 0)).select_from(
            first
        )
    ).one()
    return Activation(eligible, int(activated))


def ticket_scope(scope: Scope, user_col: ColumnElement) -> ColumnElement:
    """Condition on a ticket's user: the user's account is in scope.

    No filter: every ticket. Otherwise the account must have a project in scope
    (:func:`metrics.query.projects_select`) or be a partner in scope
    (:func:`metrics.query.partners_select`).
    """
    if scope.filters.empty:
        return true()
    accounts = or_(
        User.account_id.in_(projects_select(scope, Project.account_id).scalar_subquery()),
        User.account_id.in_(partners_select(scope).scalar_subquery()),
    )
    return user_col.in_(
        select(User.user_id).where(User.workspace_id == scope.workspace_id, accounts)
    )


@dataclass(frozen=True)
class Tickets:
    tickets: int
    self_service: int
    after_portal: int


def tickets(conn: Connection, scope: Scope) -> Tickets:
    """Tickets created in the window (in scope), those resolved self-service, and those whose
    user had a session (any portal) that ended in ``[created − 24 h, created]``."""
    ws = scope.workspace_id
    created = type_coerce(Ticket.created_at, BigInteger)
    ended = type_coerce(Session.ended_at, BigInteger)
    # No condition on started_at: with one, SQLite walks every user's sessions of that time
    # range on the time index; without, it looks up the ticket's user's sessions only.
    recent_session = exists().where(
        Session.workspace_id == ws,
        Session.user_id == Ticket.user_id,
        ended <= created,
        ended >= created - TICKET_LOOKBACK_MS,
    )
    count, self_service, after_portal = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Ticket.resolution == "self_service", 1), else_=0)), 0),
            func.coalesce(func.sum(case((recent_session, 1), else_=0)), 0),
        ).where(
            Ticket.workspace_id == ws,
            Ticket.created_at >= scope.start,
            Ticket.created_at < scope.until,
            ticket_scope(scope, Ticket.user_id),
        )
    ).one()
    return Tickets(count, int(self_service), int(after_portal))
