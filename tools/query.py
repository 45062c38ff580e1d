"""``query_metrics``: the general query (SPEC §6) as a tool, its schema from the registry.

The argument model is generated from the semantic registry — enums of the
declared measures and dimensions, their descriptions — and rebuilt when the
registry changes, so a measure declared there is offered to the model here
without touching this file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import Connection

from metrics.semantic.query import OPERATORS, Condition, QuerySpec, check_dimensions, run_query
from metrics.semantic.registry import Registry
from metrics.semantic.vocabulary import REGISTRY
from tools.args import ScopeArgs
from tools.context import ToolContext
from tools.resolve import build_scope

_cache: dict[int, type[BaseModel]] = {}


def _enum(names: list[str]) -> Any:
    return Literal[tuple(names)]  # type: ignore[valid-type]


def _glossary(items: dict[str, Any], with_kind: bool = False) -> str:
    return "; ".join(
        f"{name} ({item.temporal})" if with_kind else name for name, item in items.items()
    )


def query_args(registry: Registry = REGISTRY) -> type[BaseModel]:
    """The tool's argument model for the registry as it is now."""
    cached = _cache.get(id(registry) ^ registry.version)
    if cached is not None:
        return cached
    measure = _enum(list(registry.measures))
    dimension = _enum(list(registry.dimensions))
    condition = create_model(
        "WhereCondition",
        __config__=ConfigDict(extra="forbid"),
        measure=(measure, Field(description="The measure compared.")),
        op=(_enum(list(OPERATORS)), Field(description="Comparison.")),
        value=(float, Field(description="The number compared with.")),
    )
    state = ", ".join(n for n, m in registry.measures.items() if m.temporal == "state")
    model = create_model(
        "QueryMetricsArgs",
        __base__=ScopeArgs,
        measures=(
            list[measure],  # type: ignore[valid-type]
            Field(
                min_length=1,
                description="Measures to compute. Flow measures count what happened in the "
                f"window; state measures ({state}) hold at its end and can only be cut by "
                "project, account or owner.",
            ),
        ),
        by=(
            list[dimension],  # type: ignore[valid-type]
            Field(
                default_factory=list,
                description="Dimensions to group by (none: one total row): "
                + "; ".join(f"{d.name}: {d.description}" for d in registry.dimensions.values()),
            ),
        ),
        where=(
            list[condition],  # type: ignore[valid-type]
            Field(
                default_factory=list,
                description="Keep only groups where every condition holds, e.g. accounts with "
                "more than 5 overdue tasks: {measure: tasks_overdue, op: '>', value: 5}.",
            ),
        ),
        sort=(measure | None, Field(None, description="Measure to order the rows by.")),
        descending=(bool, Field(True, description="Highest first (true) or lowest first.")),
        limit=(int | None, Field(None, ge=1, le=500, description="Keep the first N rows.")),
    )
    _cache[id(registry) ^ registry.version] = model
    return model


def description(registry: Registry = REGISTRY) -> str:
    return (
        "Any measure by any dimensions over a window and filters, with conditions on the "
        "groups, sort and limit; rows carry ids and names, totals cover every group. Use "
        "for filtered or grouped figures: 'page views by partner type last quarter', "
        "'logins per owner this month', 'accounts with more than 5 overdue tasks'. "
        f"Measures: {_glossary(registry.measures, with_kind=True)}."
    )


def run(ctx: ToolContext, conn: Connection, args: Any) -> dict[str, Any]:
    scope = build_scope(ctx, conn, args)
    spec = QuerySpec(
        measures=tuple(dict.fromkeys(args.measures)),
        by=tuple(dict.fromkeys(args.by)),
        where=tuple(Condition(c.measure, c.op, c.value) for c in args.where),
        sort=args.sort,
        descending=args.descending,
        limit=args.limit,
    )
    check_dimensions(spec, REGISTRY)
    result = run_query(conn, scope, spec)
    return {"_scope": scope, **result.model_dump(mode="json", exclude={"scope"})}
