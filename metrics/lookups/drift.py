"""Drifting users: people who used the portal, then stopped (for "who hasn't visited lately?").

A user is *drifting* when they have at least one visit (session) in an in-scope
portal before the state instant ``until``, and the latest of those visits
started ``days`` or more days before ``until`` (default 14). Users who never
visited are not drifting — they never started; see ``never_logged_in``.
Rows are ordered by latest visit, most recent first (who slipped away just now
comes before who left long ago), then by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Connection, and_, func, select

from metrics.models import Account, Session, User
from metrics.query import portal_condition
from metrics.scope import Scope

DEFAULT_DAYS = 14


class DriftingUser(BaseModel):
    user_id: str
    user: str
    email: str | None
    account_id: str
    account: str
    last_visit: datetime
    days_since_visit: int
    visits: int
    """Visits in scope before ``until``, all time."""


class Drifting(BaseModel):
    scope: dict[str, object]
    days: int
    total: int
    users: list[DriftingUser]


def drifting_users(conn: Connection, scope: Scope, days: int = DEFAULT_DAYS) -> Drifting:
    """Users whose latest in-scope visit started at least ``days`` days before ``until``."""
    if days < 1:
        raise ValueError("days must be 1 or more")
    until = scope.until
    latest = (
        select(
            Session.user_id,
            func.max(Session.started_at).label("last_visit"),
            func.count().label("visits"),
        )
        .where(
            Session.workspace_id == scope.workspace_id,
            Session.started_at < until,
            portal_condition(scope, Session.project_id, Session.user_id),
        )
        .group_by(Session.user_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            User.user_id,
            User.name,
            User.email,
            Account.account_id,
            Account.name,
            latest.c.last_visit,
            latest.c.visits,
        )
        .join(latest, latest.c.user_id == User.user_id)
        .join(
            Account,
            and_(Account.workspace_id == User.workspace_id, Account.account_id == User.account_id),
        )
        .where(
            User.workspace_id == scope.workspace_id,
            latest.c.last_visit <= until - timedelta(days=days),
        )
    ).all()
    users = [
        DriftingUser(
            user_id=user_id,
            user=name,
            email=email,
            account_id=account_id,
            account=account,
            last_visit=last_visit,
            days_since_visit=(until - last_visit).days,
            visits=visits,
        )
        for user_id, name, email, account_id, account, last_visit, visits in rows
    ]
    users.sort(key=lambda u: (-u.last_visit.timestamp(), u.user, u.user_id))
    return Drifting(scope=scope.describe(), days=days, total=len(users), users=users)
