"""Compile measures × dimensions × scope onto the stored tables (SQLAlchemy Core).

Each measure is counted on its source — ``sessions``, ``daily_activity`` (whole
days) plus ``events`` (a partial last day, or when a dimension needs the event
itself: device, room, resource), ``invites`` and ``tasks`` — by a grouped
SELECT whose group keys are the requested dimensions. Measures of one source
share one statement. Only grouped rows come back to Python; events never do.

Attribution (SPEC §6) lives in :meth:`Frame.dimension`: an event, session or
invite belongs to its user's account; project is its project_id (none for the
partner portal); owner is the project's owner (else its account's), or the
partner account's owner for partner-portal activity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)

from metrics.models import (
    PARTNER_PORTAL,
    Account,
    DailyActivity,
    Event,
    Invite,
    Project,
    Session,
    Task,
    User,
)
from metrics.query import midnight, portal_condition, project_condition
from metrics.scope import Scope
from metrics.sections._projects_state import task_exists, task_open, task_overdue
from metrics.semantic.buckets import BUCKETS, Buckets
from metrics.semantic.registry import (
    EventCount,
    InvitedUsers,
    Measure,
)

EVENT_ONLY_DIMENSIONS = ("device", "room", "resource")
"""Dimensions ``daily_activity`` does not keep: counted on events instead."""

_U = User.__table__.alias("q_user")
_UA = Account.__table__.alias("q_user_account")
_P = Project.__table__.alias("q_project")
_PA = Account.__table__.alias("q_project_account")

Key = tuple[object, ...]
Partial = dict[str, int]
"""Per group: measure name → its value, or (for means) its ``(total_ms, count)``."""


@dataclass
class Frame:
    """One fact table in scope, with the joins its dimensions need added on demand."""

    scope: Scope
    table: FromClause
    project_col: ColumnElement
    user_col: ColumnElement | None = None
    time_col: ColumnElement | None = None
    time_is_date: bool = False
    device_col: ColumnElement | None = None
    room_col: ColumnElement | None = None
    resource_col: ColumnElement | None = None
    raw: dict[str, ColumnElement] = field(default_factory=dict)
    """Dimensions already computed (by the pre-aggregation), by name."""
    _from: FromClause | None = None
    _joined: set[str] = field(default_factory=set)

    @property
    def from_(self) -> FromClause:
        return self.table if self._from is None else self._from

    def _join(self, name: str) -> None:
        if name in self._joined:
            return
        ws = self.scope.workspace_id
        if name == "user":
            self._from = self.from_.join(
                _U, and_(_U.c.workspace_id == ws, _U.c.user_id == self.user_col)
            )
        elif name == "user_account":
            self._join("user")
            self._from = self.from_.join(
                _UA, and_(_UA.c.workspace_id == ws, _UA.c.account_id == _U.c.account_id)
            )
        elif name == "project":
            self._from = self.from_.outerjoin(
                _P, and_(_P.c.workspace_id == ws, _P.c.project_id == self.project_col)
            )
        elif name == "project_account":
            self._join("project")
            self._from = self.from_.outerjoin(
                _PA, and_(_PA.c.workspace_id == ws, _PA.c.account_id == _P.c.account_id)
            )
        self._joined.add(name)

    def _account(self, attribute: str) -> ColumnElement:
        """An attribute of the fact's account: the user's, or (tasks) the project's."""
        if self.user_col is None:
            self._join("project_account")
            return _PA.c[attribute]
        self._join("user_account")
        return _UA.c[attribute]

    def dimension(self, name: str, buckets: dict[str, Buckets]) -> ColumnElement:
        """The SQL value of dimension ``name`` for one fact."""
        if name in self.raw:
            return self.raw[name]
        if name == "project":
            if self.user_col is None:
                return self.project_col
            return case((self.project_col == PARTNER_PORTAL, null()), else_=self.project_col)
        if name == "account":
            if self.user_col is None:
                self._join("project")
                return _P.c.account_id
            self._join("user")
            return _U.c.account_id
        if name == "owner":
            self._join("project_account")
            project_owner = func.coalesce(_P.c.owner_id, _PA.c.owner_id)
            if self.user_col is None:
                return project_owner
            self._join("user_account")
            return case((self.project_col == PARTNER_PORTAL, _UA.c.owner_id), else_=project_owner)
        if name in ("kind", "partner_type"):
            return self._account(name)
        if name in ("playbook", "status"):
            self._join("project")
            return _P.c[name]
        if name == "role":
            self._join("user")
            return _U.c.role
        if name in EVENT_ONLY_DIMENSIONS:
            column = getattr(self, f"{name}_col")
            assert column is not None, f"{name} is not kept on this source"
            return column
        if name in BUCKETS:
            assert self.time_col is not None
            if self.time_is_date and name == "day":
                return self.time_col  # a date; turned into its index in Python
            return buckets[name].index(self.time_col, is_date=self.time_is_date)
        raise KeyError(name)


def _event_match(recipe: EventCount, table: FromClause) -> ColumnElement:
    return and_(*(table.c[column] == value for column, value in recipe.match))


def _one_if(condition: ColumnElement) -> ColumnElement:
    return case((condition, literal(1)), else_=literal(0))


Combine = Literal["sum", "users", "flagged_users"]
"""How the pre-aggregated groups combine: sum a partial; count distinct users; count
distinct users whose partial flag is set."""


@dataclass(frozen=True)
class Part:
    """One grouped statement: a frame, its window/scope condition and its aggregates.

    Facts are first summed per (project, user and the fact-level dimensions: time
    bucket, device, room, resource) — ``inner`` — and only those few groups are joined
    to users, accounts and projects for the other dimensions and combined — ``outer``.
    """

    frame: Frame
    where: ColumnElement
    inner: Mapping[str, ColumnElement[Any]]
    outer: Mapping[str, Combine]
    """Result column → how it combines; ``sum`` and ``flagged_users`` read ``inner``'s
    column of the same name. A mean is two columns, ``NAME:ms`` and ``NAME:n``."""


def parts(scope: Scope, measures: Iterable[Measure], dims: tuple[str, ...]) -> list[Part]:
    """The statements that count ``measures`` grouped by ``dims`` over ``scope``."""
    by_plan: dict[str, list[Measure]] = {}
    for measure in measures:
        plan: str = measure.source
        if measure.source == "events":
            rollup = isinstance(measure.recipe, EventCount) and measure.recipe.rollup
            plan = "events" if (not rollup or set(dims) & set(EVENT_ONLY_DIMENSIONS)) else "rollup"
        by_plan.setdefault(plan, []).append(measure)
    out: list[Part] = []
    for plan, group in by_plan.items():
        out.extend(_PLANS[plan](scope, group))
    return out


def _events(scope: Scope, measures: list[Measure], start: object = None) -> list[Part]:
    table = Event.__table__
    frame = Frame(
        scope,
        table,
        project_col=table.c.project_id,
        user_col=table.c.user_id,
        time_col=table.c.occurred_at,
        device_col=table.c.device,
        room_col=table.c.room_id,
        resource_col=table.c.resource_id,
    )
    matches = {m.name: _event_match(m.recipe, table) for m in measures}  # type: ignore[arg-type]
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        table.c.occurred_at >= (start or scope.start),
        table.c.occurred_at < scope.until,
        or_(*matches.values()),  # only events some measure counts: no empty groups
        portal_condition(scope, table.c.project_id, table.c.user_id),
    )
    inner = {name: func.sum(_one_if(match)) for name, match in matches.items()}
    return [Part(frame, where, inner, dict.fromkeys(inner, "sum"))]


def _rollup(scope: Scope, measures: list[Measure]) -> list[Part]:
    """Whole days from ``daily_activity``; a partial last day (as_of inside it) from events."""
    table = DailyActivity.__table__
    whole_until = midnight(scope.until)
    frame = Frame(
        scope,
        table,
        project_col=table.c.project_id,
        user_col=table.c.user_id,
        time_col=table.c.day,
        time_is_date=True,
    )
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        table.c.day >= scope.start.date(),
        table.c.day < whole_until.date(),
        portal_condition(scope, table.c.project_id, table.c.user_id),
    )
    inner = {m.name: func.sum(table.c[_rollup_column(m)]) for m in measures}
    out = [Part(frame, where, inner, dict.fromkeys(inner, "sum"))]
    if scope.until > whole_until:
        out.extend(_events(scope, measures, start=max(whole_until, scope.start)))
    return out


def _rollup_column(measure: Measure) -> str:
    recipe = measure.recipe
    assert isinstance(recipe, EventCount) and recipe.rollup is not None
    return recipe.rollup


def _sessions(scope: Scope, measures: list[Measure]) -> list[Part]:
    table = Session.__table__
    frame = Frame(
        scope,
        table,
        project_col=table.c.project_id,
        user_col=table.c.user_id,
        time_col=table.c.started_at,
        device_col=table.c.device,
    )
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        table.c.started_at >= scope.start,
        table.c.started_at < scope.until,
        portal_condition(scope, table.c.project_id, table.c.user_id),
    )
    inner: dict[str, ColumnElement] = {}
    outer: dict[str, Combine] = {}
    for m in measures:
        kind = m.recipe.aggregate  # type: ignore[union-attr]
        if kind == "count":
            inner[m.name], outer[m.name] = func.count(), "sum"
        elif kind == "users":
            outer[m.name] = "users"
        else:
            inner[f"{m.name}:ms"], outer[f"{m.name}:ms"] = func.sum(table.c.duration_ms), "sum"
            inner[f"{m.name}:n"], outer[f"{m.name}:n"] = func.count(), "sum"
    return [Part(frame, where, inner, outer)]


def _invites(scope: Scope, measures: list[Measure]) -> list[Part]:
    table = Invite.__table__
    frame = Frame(
        scope, table, project_col=table.c.project_id, user_col=table.c.user_id,
        time_col=table.c.sent_at,
    )  # fmt: skip
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        table.c.sent_at >= scope.start,
        table.c.sent_at < scope.until,
        portal_condition(scope, table.c.project_id, table.c.user_id),
    )
    return [Part(frame, where, {m.name: func.count() for m in measures}, _sums(measures))]


def _tasks(scope: Scope, measures: list[Measure]) -> list[Part]:
    table = Task.__table__
    frame = Frame(scope, table, project_col=table.c.project_id, time_col=table.c.completed_at)
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        table.c.completed_at >= scope.start,
        table.c.completed_at < scope.until,
        project_condition(scope, table.c.project_id),
    )
    return [Part(frame, where, {m.name: func.count() for m in measures}, _sums(measures))]


def _invited_users(scope: Scope, measures: list[Measure]) -> list[Part]:
    table = Invite.__table__
    frame = Frame(scope, table, project_col=table.c.project_id, user_col=table.c.user_id)
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        table.c.sent_at < scope.until,
        portal_condition(scope, table.c.project_id, table.c.user_id),
    )
    logged_in = exists().where(
        Event.workspace_id == scope.workspace_id,
        Event.user_id == table.c.user_id,
        Event.project_id == table.c.project_id,
        Event.occurred_at < scope.until,
        Event.type == "login",
    )
    inner: dict[str, ColumnElement] = {}
    outer: dict[str, Combine] = {}
    for m in measures:
        recipe: InvitedUsers = m.recipe  # type: ignore[assignment]
        if recipe.logged_in:
            inner[m.name], outer[m.name] = func.max(_one_if(logged_in)), "flagged_users"
        else:
            outer[m.name] = "users"
    return [Part(frame, where, inner, outer)]


def _open_tasks(scope: Scope, measures: list[Measure]) -> list[Part]:
    table = Task.__table__
    frame = Frame(scope, table, project_col=table.c.project_id)
    where = and_(
        table.c.workspace_id == scope.workspace_id,
        task_exists(scope),
        project_condition(scope, table.c.project_id),
    )
    states = {
        "open": task_open(scope),
        "assigned": table.c.assignee_user_id.is_not(None),
        "unassigned": and_(task_open(scope), table.c.assignee_user_id.is_(None)),
        "overdue": task_overdue(scope),
    }
    inner = {
        m.name: func.sum(_one_if(states[m.recipe.state]))  # type: ignore[union-attr]
        for m in measures
    }
    return [Part(frame, where, inner, _sums(measures))]


def _sums(measures: list[Measure]) -> dict[str, Combine]:
    return {m.name: "sum" for m in measures}


_PLANS = {
    "events": _events,
    "rollup": _rollup,
    "sessions": _sessions,
    "invites": _invites,
    "tasks": _tasks,
    "invited_users": _invited_users,
    "open_tasks": _open_tasks,
}


RAW_DIMENSIONS = (*EVENT_ONLY_DIMENSIONS, *BUCKETS)
"""Dimensions of the fact itself, kept through the pre-aggregation."""


def statement(part: Part, dims: tuple[str, ...], buckets: dict[str, Buckets]) -> Select:
    """``part`` as SQL: facts summed per (project, user, fact-level dimensions), then those
    groups joined for the other dimensions and combined per group of ``dims``."""
    frame = part.frame
    raw = [d for d in dims if d in RAW_DIMENSIONS]
    keys = {"k_project": frame.project_col}
    if frame.user_col is not None:
        keys["k_user"] = frame.user_col
    keys.update({f"k_{d}": frame.dimension(d, buckets) for d in raw})
    facts = (
        select(*(c.label(k) for k, c in keys.items()), *(e.label(n) for n, e in part.inner.items()))
        .select_from(frame.from_)
        .where(part.where)
        .group_by(*keys.values())
        .subquery("facts")
    )
    grouped = Frame(
        frame.scope,
        facts,
        project_col=facts.c.k_project,
        user_col=facts.c.k_user if frame.user_col is not None else None,
        raw={d: facts.c[f"k_{d}"] for d in raw},
    )
    group_keys = [grouped.dimension(d, buckets) for d in dims]
    combined: list[ColumnElement[Any]] = []
    for name, how in part.outer.items():
        if how == "sum":
            combined.append(func.sum(facts.c[name]))
        elif how == "users":
            combined.append(func.count(func.distinct(facts.c.k_user)))
        else:
            combined.append(
                func.count(func.distinct(case((facts.c[name] > 0, facts.c.k_user), else_=null())))
            )
    query = select(*group_keys, *combined).select_from(grouped.from_)
    return query.group_by(*group_keys) if group_keys else query


def execute(
    conn: Connection, scope: Scope, measures: Iterable[Measure], dims: tuple[str, ...]
) -> dict[Key, Partial]:
    """Group key (one value per dimension; bucket indexes for time) → partial values."""
    buckets = {d: Buckets.of(d, scope) for d in dims if d in BUCKETS}
    groups: dict[Key, Partial] = {}
    for part in parts(scope, measures, dims):
        names = list(part.outer)
        for row in conn.execute(statement(part, dims, buckets)):
            key = tuple(
                buckets[d].of_date(v) if d in buckets and isinstance(v, date) else v
                for d, v in zip(dims, row[: len(dims)], strict=True)
            )
            values = groups.setdefault(key, {})
            for name, value in zip(names, row[len(dims) :], strict=True):
                values[name] = int(values.get(name) or 0) + int(value or 0)
    return groups
