"""Who was invited and never logged in (the assistant's ``never_logged_in`` lookup).

A user is listed when they were invited (before the scope's ``until``) to at least one
portal of the selection — a project's portal or the partner portal, in scope and
matching the lookup's project/account/kind — and have no login event before ``until``
on any of those portals. Each listed user has one row per selected portal invited to.
With ``project`` the selection is that project alone, so it reads "invited to this
project and never logged in to it"; overall, a user active on one project and not yet
on another is not "never logged in".
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Connection, select

from metrics.lookups_base import resolve_id
from metrics.models import PARTNER_PORTAL, Invite, Project, User
from metrics.scope import Scope
from metrics.sections._risks_facts import invite_pairs, never_logged_in_users
from metrics.sections._risks_rules import days_between

Kind = Literal["customer", "partner"]


class NeverLoggedInRow(BaseModel):
    user_id: str
    user: str
    email: str | None
    account_id: str
    account: str
    project_id: str | None
    """None for the partner portal."""
    project: str | None
    invited_at: datetime
    """The user's first invite to that portal."""
    days_since_invite: int
    """Calendar days from the first invite's date to the last day counted."""


class ProjectCount(BaseModel):
    project_id: str | None
    """None for the partner portal."""
    project: str
    users: int


class AccountCount(BaseModel):
    account_id: str
    account: str
    users: int


class NeverLoggedIn(BaseModel):
    """Invited users with no login on any portal they were invited to, at ``until``."""

    scope: dict[str, object]
    project_id: str | None
    account_id: str | None
    kind: str | None
    total: int
    """Distinct users never logged in."""
    invited: int
    """Distinct users invited (same selection), logged in or not: the denominator."""
    invites: int
    """(user, portal) pairs listed in ``rows``."""
    rows: list[NeverLoggedInRow]
    by_project: list[ProjectCount]
    by_account: list[AccountCount]


def never_logged_in(
    conn: Connection,
    scope: Scope,
    project: str | None = None,
    account: str | None = None,
    kind: Kind | None = None,
) -> NeverLoggedIn:
    """Invited users (invite before ``until``, portal in scope) with no login there before it.

    See the module docstring for the exact rule.

    ``project`` (id or exact name) keeps invites to that project; ``account`` keeps users
    of that account; ``kind`` "customer" keeps project portals, "partner" the partner
    portal. Unknown project or account → :class:`~metrics.semantic.resolve.ResolveError`.
    """
    ws = scope.workspace_id
    conditions = []
    project_id = account_id = None
    if project is not None:
        project_id = resolve_id(conn, ws, "project", project)
        conditions.append(Invite.project_id == project_id)
    if account is not None:
        account_id = resolve_id(conn, ws, "account", account)
        conditions.append(
            Invite.user_id.in_(
                select(User.user_id).where(User.workspace_id == ws, User.account_id == account_id)
            )
        )
    if kind is not None:
        if kind not in ("customer", "partner"):
            raise ValueError(f"kind must be 'customer' or 'partner', not {kind!r}")
        portal = Invite.project_id == PARTNER_PORTAL
        conditions.append(portal if kind == "partner" else ~portal)
    t = scope.until
    pairs = invite_pairs(conn, scope, t, *conditions)
    names = dict(
        conn.execute(
            select(Project.project_id, Project.name).where(
                Project.workspace_id == ws,
                Project.project_id.in_({p.project_id for p in pairs if p.project_id}),
            )
        ).all()
    )
    rows = [
        NeverLoggedInRow(
            user_id=p.user_id,
            user=p.user,
            email=p.email,
            account_id=p.account_id,
            account=p.account,
            project_id=p.project_id or None,
            project=names.get(p.project_id) if p.project_id else None,
            invited_at=p.invited_at,
            days_since_invite=days_between(p.invited_at, t) or 0,
        )
        for waiting in never_logged_in_users(pairs).values()
        for p in waiting
    ]
    rows.sort(key=lambda r: (r.invited_at, r.user, r.user_id, r.project or "", r.project_id or ""))
    per_project = Counter((r.project_id, r.project or "Partner portal") for r in rows)
    per_account: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        per_account.setdefault((r.account_id, r.account), set()).add(r.user_id)
    return NeverLoggedIn(
        scope=scope.describe(),
        project_id=project_id,
        account_id=account_id,
        kind=kind,
        total=len({r.user_id for r in rows}),
        invited=len({p.user_id for p in pairs}),
        invites=len(rows),
        rows=rows,
        by_project=sorted(
            (ProjectCount(project_id=k[0], project=k[1], users=n) for k, n in per_project.items()),
            key=lambda c: (-c.users, c.project, c.project_id or ""),
        ),
        by_account=sorted(
            (
                AccountCount(account_id=k[0], account=k[1], users=len(v))
                for k, v in per_account.items()
            ),
            key=lambda c: (-c.users, c.account, c.account_id),
        ),
    )
