"""What the lookups share: their errors, narrowing a scope to one entity, id resolution.

Errors are the resolver's one :class:`~metrics.semantic.resolve.ResolveError`, whose
``kind`` says ``not_found`` or ``out_of_scope``.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from metrics.scope import Scope
from metrics.semantic.resolve import EntityKind, ResolveError, resolve_entity


def not_found(what: str, value: str, message: str) -> ResolveError:
    """An id that names nothing (of that kind) in the workspace."""
    return ResolveError("not_found", what, value, message=message)


def out_of_scope(what: str, value: str, message: str) -> ResolveError:
    """An entity that exists but is excluded by the scope's other filters."""
    return ResolveError("out_of_scope", what, value, message=message)


def narrow(scope: Scope, **filters: object) -> Scope:
    """``scope`` with some filters replaced (e.g. ``projects=(id,)``), the rest kept."""
    return replace(scope, filters=replace(scope.filters, **filters))


def resolve_id(conn: Connection, workspace_id: int, what: EntityKind, value: str) -> str:
    """The id of a project/account/user/member given its id or name (strict resolution).

    Raises :class:`ResolveError` (not found, or ambiguous) naming what was not found.
    """
    return resolve_entity(conn, workspace_id, what, value, strict=True)
