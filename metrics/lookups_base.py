"""What the lookups share: their errors, narrowing a scope to one entity, id resolution."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection, func, select

from metrics.models import Account, Project, TeamMember, User
from metrics.scope import Scope


class NotFoundError(LookupError):
    """An id (or exact name) that names nothing in the workspace; the message says which."""


class OutOfScopeError(LookupError):
    """An entity that exists but is excluded by the scope's other filters."""


def narrow(scope: Scope, **filters: object) -> Scope:
    """``scope`` with some filters replaced (e.g. ``projects=(id,)``), the rest kept."""
    return replace(scope, filters=replace(scope.filters, **filters))


_TABLES = {
    "project": (Project, Project.project_id),
    "account": (Account, Account.account_id),
    "user": (User, User.user_id),
    "member": (TeamMember, TeamMember.member_id),
}


def resolve_id(conn: Connection, workspace_id: int, what: str, value: str) -> str:
    """The id of a project/account/user/member given its id or exact (case-insensitive) name.

    Raises :class:`NotFoundError` naming what was not found, or when a name is ambiguous.
    """
    model, key = _TABLES[what]
    text = value.strip()
    rows = conn.execute(
        select(key).where(
            model.workspace_id == workspace_id,
            (key == text) | (func.lower(model.name) == text.lower()),
        )
    ).all()
    ids = sorted({r[0] for r in rows})
    if text in ids:
        return text
    if len(ids) == 1:
        return ids[0]
    if ids:
        raise NotFoundError(f"{what} {value!r} is ambiguous: it names {', '.join(ids)}")
    raise NotFoundError(f"no {what} with id or name {value!r} in this workspace")
