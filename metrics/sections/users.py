"""Users (CLI ``metrics users``): the per-user expansion of every project in scope (SPEC §4.4).

One row per (project, user invited to it before until), with the same columns
as :func:`metrics.sections.projects.project_users`.
"""

from __future__ import annotations

from sqlalchemy import Connection

from metrics.results import Result
from metrics.scope import Scope
from metrics.sections._projects_sort import sort_rows
from metrics.sections._projects_users import (
    USER_COLUMNS,
    ProjectUserRow,
    unordered_project_users,
    user_ties,
)

COLUMNS = USER_COLUMNS


class UsersResult(Result):
    section: str = "users"
    sort: str
    descending: bool
    users: list[ProjectUserRow]


def compute(
    conn: Connection, scope: Scope, sort: str = "user", descending: bool = False
) -> UsersResult:
    """Per-user rows of all projects in ``scope``, sorted by ``sort`` (nulls last).

    Ties go by user name, then project name. Raises ValueError for an unknown column.
    """
    if sort not in COLUMNS:
        raise ValueError(f"cannot sort by {sort!r}: use one of {', '.join(COLUMNS)}")
    rows = unordered_project_users(conn, scope)
    return UsersResult(
        scope=scope.describe(),
        sort=sort,
        descending=descending,
        users=sort_rows(rows, sort, descending, COLUMNS, user_ties),
    )
