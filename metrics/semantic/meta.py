"""The registry as typed, JSON-ready data: what ``GET /api/meta`` serves and
``docs/METRICS.md``'s vocabulary is written from."""

from __future__ import annotations

from pydantic import BaseModel, Field

from metrics.semantic.registry import (
    EventCount,
    InvitedUsers,
    Measure,
    Registry,
    RowCount,
    SessionAggregate,
    TaskState,
)
from metrics.semantic.vocabulary import REGISTRY


class MeasureMeta(BaseModel):
    name: str
    label: str
    description: str
    synonyms: list[str]
    unit: str
    format: str
    temporal: str = Field(description="flow: inside the window; state: at the window's end")
    source: str
    aggregation: str
    dimensions: list[str] = Field(description="The dimensions it can be cut by.")


class DimensionMeta(BaseModel):
    name: str
    label: str
    description: str
    kind: str = Field(description="entity, category or time")
    attribution: str
    synonyms: list[str]
    values: list[str]


class FilterMeta(BaseModel):
    name: str
    label: str
    description: str
    entity: str | None
    values: list[str]
    many: bool
    synonyms: list[str]


class RangeMeta(BaseModel):
    name: str
    label: str
    synonyms: list[str]


class SignalMeta(BaseModel):
    name: str
    label: str
    description: str
    rule: str
    entities: list[str]
    synonyms: list[str]


class ColumnMeta(BaseModel):
    name: str
    label: str
    format: str
    tables: list[str]
    description: str
    sortable: bool


class Meta(BaseModel):
    """Every measure, dimension, filter, range, risk signal and table column."""

    measures: list[MeasureMeta]
    dimensions: list[DimensionMeta]
    filters: list[FilterMeta]
    ranges: list[RangeMeta]
    signals: list[SignalMeta]
    columns: list[ColumnMeta]


def aggregation(measure: Measure) -> str:
    """How the measure aggregates, in words."""
    recipe = measure.recipe
    if isinstance(recipe, EventCount):
        return "count of events where " + " and ".join(f"{c} = {v}" for c, v in recipe.match)
    if isinstance(recipe, SessionAggregate):
        return {
            "count": "count of sessions",
            "users": "count of distinct users",
            "mean_seconds": "mean of session durations",
        }[recipe.aggregate]
    if isinstance(recipe, RowCount):
        return f"count of {measure.source}"
    if isinstance(recipe, InvitedUsers):
        return "count of distinct invited users" + (" with a login" if recipe.logged_in else "")
    if isinstance(recipe, TaskState):
        return f"count of {recipe.state} tasks"
    return type(recipe).__name__


def _plain(item: object, *names: str) -> dict[str, object]:
    out = {}
    for name in names:
        value = getattr(item, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def meta(registry: Registry = REGISTRY) -> Meta:
    return Meta(
        measures=[
            MeasureMeta(
                **_plain(m, "name", "label", "description", "synonyms", "unit", "format"),
                temporal=m.temporal,
                source=m.source,
                aggregation=aggregation(m),
                dimensions=list(registry.measure_dimensions(m)),
            )
            for m in registry.measures.values()
        ],
        dimensions=[
            DimensionMeta(
                **_plain(
                    d, "name", "label", "description", "kind", "attribution", "synonyms", "values"
                )
            )
            for d in registry.dimensions.values()
        ],
        filters=[
            FilterMeta(
                **_plain(f, "name", "label", "description", "entity", "values", "many", "synonyms")
            )
            for f in registry.filters.values()
        ],
        ranges=[
            RangeMeta(**_plain(r, "name", "label", "synonyms")) for r in registry.ranges.values()
        ],
        signals=[
            SignalMeta(**_plain(s, "name", "label", "description", "rule", "entities", "synonyms"))
            for s in registry.signals.values()
        ],
        columns=[
            ColumnMeta(**_plain(c, "name", "label", "format", "tables", "description", "sortable"))
            for c in registry.columns.values()
        ],
    )
