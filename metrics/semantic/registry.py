"""The semantic layer's types: what a measure, dimension, filter, signal and column *is*.

Every word people ask with is declared once, as one of these, in
:mod:`metrics.semantic.vocabulary`. Everything else — tool schemas, the
planner's vocabulary, CLI help, API parameters, page and digest labels, eval
truth and ``docs/METRICS.md`` — is derived from the :class:`Registry`.

A :class:`Measure` also says how it is computed: its ``source`` (which stored
table it is counted on) and a ``recipe`` the query compiler
(:mod:`metrics.semantic.compile`) understands. Adding a measure is adding one
declaration; nothing else has to change for it to be queryable, listed in
``/api/meta``, offered by the CLI and the ``query_metrics`` tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal[
    "count", "number", "seconds", "percent", "date", "datetime", "currency", "score", "text"
]
"""How a value is displayed (:mod:`metrics.formatting` and the dashboard's formatter)."""

Temporal = Literal["flow", "state"]
"""Flow: what happened inside the window. State: what holds at the window's end."""

Source = Literal["events", "sessions", "invites", "tasks", "invited_users", "open_tasks"]
"""The stored facts a measure is counted on."""

DimensionKind = Literal["entity", "category", "time"]


@dataclass(frozen=True)
class EventCount:
    """Count events matching ``match`` (column → value). ``rollup`` names the
    ``daily_activity`` column that holds the same count per day, when there is one."""

    match: tuple[tuple[str, str], ...]
    rollup: str | None = None


@dataclass(frozen=True)
class SessionAggregate:
    """``count``: sessions; ``users``: distinct users; ``mean_seconds``: mean duration."""

    aggregate: Literal["count", "users", "mean_seconds"]


@dataclass(frozen=True)
class RowCount:
    """Count the source's rows (invites sent, tasks completed) in the window."""


@dataclass(frozen=True)
class InvitedUsers:
    """Distinct invited users at the window's end; ``logged_in``: only those with a login
    event on the portal they were invited to, before the window's end."""

    logged_in: bool = False


@dataclass(frozen=True)
class TaskState:
    """Tasks at the window's end: ``assigned`` (created, with an assignee), ``unassigned``
    (open, without one) or ``overdue`` (open, assigned, due before the end's date)."""

    state: Literal["open", "assigned", "unassigned", "overdue"]


Recipe = EventCount | SessionAggregate | RowCount | InvitedUsers | TaskState


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    description: str
    """One line; feeds the glossary, the tool schema and ``docs/METRICS.md``."""
    source: Source
    recipe: Recipe
    temporal: Temporal = "flow"
    format: Format = "count"
    unit: str = "count"
    synonyms: tuple[str, ...] = ()
    dimensions: tuple[str, ...] | None = None
    """Dimensions it can be cut by; None: every dimension its source supports."""
    higher_is_better: bool = True


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    description: str
    kind: DimensionKind
    attribution: str
    """How a fact gets its value (SPEC §6): shown in ``/api/meta`` and the docs."""
    synonyms: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    """The closed set of values of a category, when there is one."""


@dataclass(frozen=True)
class Filter:
    name: str
    """Its one name everywhere: HTTP parameter, CLI option (``--partner-type``), tool argument."""
    label: str
    description: str
    entity: Literal["member", "account", "project"] | None = None
    """Resolved as a name of this kind of entity (ids, names, folded or fuzzy)."""
    values: tuple[str, ...] = ()
    """Or one of these values."""
    many: bool = False
    """Repeatable (several accounts, projects or statuses)."""
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Range:
    name: str
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signal:
    name: str
    label: str
    description: str
    rule: str
    entities: tuple[str, ...]
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class RiskLevel:
    """A project's risk level (``metrics.sections._risks_rules.risk_level`` sets it)."""

    name: str
    label: str
    description: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """A column of a metrics table (project table, user rows, leaderboard): its label and
    display format; ``sortable`` columns can be sorted by."""

    name: str
    label: str
    format: Format
    tables: tuple[str, ...]
    description: str = ""
    sortable: bool = True


Entry = Measure | Dimension | Filter | Range | Signal | RiskLevel | Column
"""Anything the registry declares."""


@dataclass
class Registry:
    """Every declared word, by name; the single source the other layers derive from."""

    measures: dict[str, Measure] = field(default_factory=dict)
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    filters: dict[str, Filter] = field(default_factory=dict)
    ranges: dict[str, Range] = field(default_factory=dict)
    signals: dict[str, Signal] = field(default_factory=dict)
    levels: dict[str, RiskLevel] = field(default_factory=dict)
    columns: dict[str, Column] = field(default_factory=dict)
    version: int = 0
    """Bumped on every change, so derived artefacts (tool schemas) know to rebuild."""

    def add(self, *items: Entry) -> None:
        for item in items:
            book = self._book(item)
            if item.name in book:
                raise ValueError(f"{type(item).__name__.lower()} {item.name!r} is declared twice")
            book[item.name] = item  # type: ignore[assignment]
        self.version += 1

    def remove(self, *items: Entry) -> None:
        for item in items:
            self._book(item).pop(item.name, None)
        self.version += 1

    @contextmanager
    def extended(self, *items: Entry) -> Iterator[None]:
        """The registry with ``items`` added for the duration of a ``with`` block."""
        self.add(*items)
        try:
            yield
        finally:
            self.remove(*items)

    def _book(self, item: object) -> dict[str, Any]:
        books: dict[type, dict[str, Any]] = {
            Measure: self.measures,
            Dimension: self.dimensions,
            Filter: self.filters,
            Range: self.ranges,
            Signal: self.signals,
            RiskLevel: self.levels,
            Column: self.columns,
        }
        return books[type(item)]

    # -- what each consumer asks ------------------------------------------------------------

    def measure_dimensions(self, measure: Measure) -> tuple[str, ...]:
        """The dimensions ``measure`` can be cut by."""
        if measure.dimensions is not None:
            return measure.dimensions
        return tuple(d for d in self.dimensions if d in SOURCE_DIMENSIONS[measure.source])

    def label(self, name: str) -> str:
        """The display label of any declared name (measure, column, dimension, signal …)."""
        for book in (self.measures, self.columns, self.dimensions, self.signals, self.filters):
            if name in book:
                return book[name].label
        return name.replace("_", " ").capitalize()

    def format_of(self, name: str) -> Format:
        if name in self.measures:
            return self.measures[name].format
        if name in self.columns:
            return self.columns[name].format
        return "text"


ENTITY_DIMENSIONS = ("project", "account", "owner")
_TIME = ("day", "week", "month")
_PORTAL = ("project", "account", "owner", "partner_type", "kind", "playbook", "status", "role")
SOURCE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "events": (*_PORTAL, "device", "room", "resource", *_TIME),
    "sessions": (*_PORTAL, "device", *_TIME),
    "invites": (*_PORTAL, *_TIME),
    "tasks": ("project", "account", "owner", "partner_type", "kind", "playbook", "status", *_TIME),
    "invited_users": ENTITY_DIMENSIONS,
    "open_tasks": ENTITY_DIMENSIONS,
}
"""Which dimensions each source can attribute its facts to (SPEC §6)."""
