"""The general query (SPEC §6): measures × dimensions × scope × where × sort × limit.

:func:`parse_query` validates names against the registry (one clear error,
:class:`QueryError`, naming the valid choices); :func:`run_query` compiles it
(:mod:`metrics.semantic.compile`), names the entities, applies ``where``,
sort and limit, and adds ``totals`` over every group in scope.

Rows: with a single entity dimension (project, account, owner) every entity
in scope has a row, zeros included, so "which projects have no visits" finds
them; otherwise the groups with data. Activity without a value for a
dimension (partner-portal activity by project) is one row whose value is null.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import Connection, select

from metrics.models import Account, Project, Resource, Room, TeamMember
from metrics.query import PROJECT_OWNER, partners_select, projects_select
from metrics.results import seconds
from metrics.scope import Scope, ScopeError, iso
from metrics.semantic.buckets import BUCKETS, Buckets
from metrics.semantic.compile import Partial, execute
from metrics.semantic.registry import ENTITY_DIMENSIONS, Measure, Registry, SessionAggregate
from metrics.semantic.resolve import fold
from metrics.semantic.vocabulary import REGISTRY

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_WHERE = re.compile(r"^\s*([A-Za-z_][\w ]*?)\s*(>=|<=|!=|==|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*$")
_NAMES = {
    "project": Project,
    "account": Account,
    "owner": TeamMember,
    "room": Room,
    "resource": Resource,
}


class QueryError(ScopeError):
    """A query that cannot be asked: the message names what is wrong and the valid choices."""


@dataclass(frozen=True)
class Condition:
    measure: str
    op: str
    value: float

    def holds(self, value: float | None) -> bool:
        return value is not None and OPERATORS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.measure} {self.op} {self.value:g}"


@dataclass(frozen=True)
class QuerySpec:
    measures: tuple[str, ...]
    by: tuple[str, ...] = ()
    where: tuple[Condition, ...] = ()
    sort: str | None = None
    descending: bool = True
    limit: int | None = None

    @property
    def needed(self) -> tuple[str, ...]:
        """Every measure to compute: the asked ones, then those of where and sort."""
        extra = [c.measure for c in self.where] + ([self.sort] if self.sort else [])
        return tuple(dict.fromkeys((*self.measures, *extra)))


class QueryWindow(BaseModel):
    start: str
    end: str


class QueryResult(BaseModel):
    """SPEC §6's JSON: ``rows`` hold ``DIM`` (id or value), ``DIM_name`` for entities, and
    each measure; ``totals`` cover every group in scope before where and limit."""

    measures: list[str]
    by: list[str]
    window: QueryWindow
    rows: list[dict[str, object]]
    totals: dict[str, float | int | None]
    where: list[str] = []
    sort: str | None = None
    descending: bool | None = None
    limit: int | None = None
    groups: int = 0
    """Groups in scope before where and limit."""
    scope: dict[str, object] = {}


# -- parsing --------------------------------------------------------------------------------


def _choices(kind: str, value: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {kind} {value!r}{hint}. Valid {kind}s: {', '.join(names)}"


def measure_named(text: str, registry: Registry = REGISTRY) -> Measure:
    """A measure by its name or one of its synonyms (case, spaces and accents ignored)."""
    key = fold(text).replace(" ", "_")
    for measure in registry.measures.values():
        if key == measure.name or key in {fold(s).replace(" ", "_") for s in measure.synonyms}:
            return measure
    raise QueryError(_choices("measure", text.strip(), list(registry.measures)))


def dimension_named(text: str, registry: Registry = REGISTRY) -> str:
    key = fold(text).replace(" ", "_")
    for dim in registry.dimensions.values():
        if key == dim.name or key in {fold(s).replace(" ", "_") for s in dim.synonyms}:
            return dim.name
    raise QueryError(_choices("dimension", text.strip(), list(registry.dimensions)))


def parse_condition(text: str, registry: Registry = REGISTRY) -> Condition:
    match = _WHERE.match(text)
    if not match:
        raise QueryError(
            f"where {text!r}: expected 'MEASURE OP NUMBER' with OP one of "
            f"{', '.join(sorted(OPERATORS, key=len))}, e.g. 'sessions > 5'"
        )
    name, op, number = match.groups()
    return Condition(measure_named(name, registry).name, "=" if op == "==" else op, float(number))


def _split(values: str | Sequence[str] | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


def parse_query(
    measures: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    where: str | Sequence[str] | None = None,
    sort: str | None = None,
    descending: bool | None = None,
    limit: int | None = None,
    registry: Registry = REGISTRY,
) -> QuerySpec:
    """Validate names against the registry; raise :class:`QueryError` on the first problem."""
    names = tuple(dict.fromkeys(measure_named(m, registry).name for m in _split(measures)))
    if not names:
        raise QueryError(
            f"give at least one measure. Valid measures: {', '.join(registry.measures)}"
        )
    dims = tuple(dict.fromkeys(dimension_named(d, registry) for d in _split(by)))
    conditions = tuple(
        parse_condition(w, registry) for w in ([where] if isinstance(where, str) else where or ())
    )
    if limit is not None and limit < 1:
        raise QueryError(f"limit must be at least 1, not {limit}")
    spec = QuerySpec(
        measures=names,
        by=dims,
        where=conditions,
        sort=measure_named(sort, registry).name if sort else None,
        descending=True if descending is None else descending,
        limit=limit,
    )
    check_dimensions(spec, registry)
    return spec


def check_dimensions(spec: QuerySpec, registry: Registry = REGISTRY) -> None:
    """Every measure of ``spec`` can be cut by every dimension of it, or :class:`QueryError`."""
    for name in spec.needed:
        measure = registry.measures[name]
        allowed = registry.measure_dimensions(measure)
        refused = [d for d in spec.by if d not in allowed]
        if refused:
            what = (
                "a state measure (at the window's end)"
                if measure.temporal == "state"
                else "a measure"
            )
            raise QueryError(
                f"{name} is {what} that cannot be cut by {', '.join(refused)}; "
                f"it can be cut by: {', '.join(allowed)}"
            )


# -- running --------------------------------------------------------------------------------


def _finish(measures: Sequence[Measure], partial: Partial) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {}
    for m in measures:
        if isinstance(m.recipe, SessionAggregate) and m.recipe.aggregate == "mean_seconds":
            total = partial.get(f"{m.name}:ms")
            out[m.name] = seconds(int(total) if total else 0, int(partial.get(f"{m.name}:n") or 0))
        else:
            out[m.name] = int(partial.get(m.name) or 0)
    return out


def _population(conn: Connection, scope: Scope, dim: str) -> list[object]:
    """Every entity of a single entity dimension in scope (they get rows, zeros included)."""
    if dim == "project":
        return list(conn.scalars(projects_select(scope, Project.project_id)))
    if dim == "account":
        projects = conn.scalars(projects_select(scope, Project.account_id).distinct())
        return list(dict.fromkeys([*projects, *conn.scalars(partners_select(scope))]))
    owners = conn.scalars(projects_select(scope, PROJECT_OWNER).distinct())
    partner_owners = conn.scalars(partners_select(scope, Account.owner_id).distinct())
    return [o for o in dict.fromkeys([*owners, *partner_owners]) if o is not None]


def _names(conn: Connection, scope: Scope, dim: str, ids: set[object]) -> dict[object, str]:
    model = _NAMES[dim]
    table = model.__table__
    key = next(c for c in table.primary_key.columns if c.name != "workspace_id")
    label = table.c.title if dim == "resource" else table.c.name
    wanted = [i for i in ids if i is not None]
    names: dict[object, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(key, label).where(table.c.workspace_id == scope.workspace_id, key.in_(chunk))
        )
        names.update({r[0]: r[1] for r in rows})
    return names


def _order_key(value: object) -> tuple:
    return (value is None, str(value).casefold() if value is not None else "")


def run_query(
    conn: Connection, scope: Scope, spec: QuerySpec, registry: Registry = REGISTRY
) -> QueryResult:
    """Compute ``spec`` over ``scope``: rows, then totals over every group in scope."""
    measures = [registry.measures[n] for n in spec.needed]
    groups = execute(conn, scope, measures, spec.by)
    if len(spec.by) == 1 and spec.by[0] in ENTITY_DIMENSIONS:
        for entity in _population(conn, scope, spec.by[0]):
            groups.setdefault((entity,), {})
    totals_partial = execute(conn, scope, measures, ()).get((), {})
    buckets = {d: Buckets.of(d, scope) for d in spec.by if d in BUCKETS}
    names = {
        d: _names(conn, scope, d, {key[i] for key in groups})
        for i, d in enumerate(spec.by)
        if d in _NAMES
    }
    rows: list[tuple[tuple, dict[str, object], dict[str, float | int | None]]] = []
    for key, partial in groups.items():
        row: dict[str, object] = {}
        order: list[tuple] = []
        for dim, value in zip(spec.by, key, strict=True):
            if dim in buckets:
                label = buckets[dim].label(int(value))  # type: ignore[call-overload]
                row[dim] = label
                order.append((False, label))
            elif dim in names:
                row[dim] = value
                row[f"{dim}_name"] = names[dim].get(value) if value is not None else None
                order.append(_order_key(row[f"{dim}_name"] or value))
            else:
                row[dim] = value
                order.append(_order_key(value))
        values = _finish(measures, partial)
        rows.append((tuple(order), row, values))
    rows.sort(key=lambda r: r[0])
    group_count = len(rows)
    kept = [r for r in rows if all(c.holds(r[2][c.measure]) for c in spec.where)]
    if spec.sort:
        present = [r for r in kept if r[2][spec.sort] is not None]
        missing = [r for r in kept if r[2][spec.sort] is None]
        present.sort(key=lambda r: r[2][spec.sort], reverse=spec.descending)  # type: ignore[arg-type, return-value]
        kept = present + missing
    if spec.limit is not None:
        kept = kept[: spec.limit]
    out_rows = [{**row, **{m: values[m] for m in spec.measures}} for _, row, values in kept]
    totals = _finish(measures, totals_partial)
    return QueryResult(
        measures=list(spec.measures),
        by=list(spec.by),
        window=QueryWindow(start=iso(scope.start), end=iso(scope.until)),
        rows=out_rows,
        totals={m: totals[m] for m in spec.measures},
        where=[str(c) for c in spec.where],
        sort=spec.sort,
        descending=spec.descending if spec.sort else None,
        limit=spec.limit,
        groups=group_count,
        scope=scope.describe(),
    )
