"""Typed tool arguments whose descriptions teach a model the scope vocabulary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from metrics.semantic.params import FilterParams, WindowParams
from metrics.semantic.vocabulary import REGISTRY

SignalName = Literal[tuple(REGISTRY.signals)]  # type: ignore[valid-type]
LevelName = Literal[tuple(REGISTRY.levels)]  # type: ignore[valid-type]


def argument_names(model: type[BaseModel]) -> set[str]:
    """The names a tool's arguments are given by: each field's alias, else its name."""
    return {f.alias or name for name, f in model.model_fields.items()}


class ScopeArgs(WindowParams, FilterParams):
    """When and whose data: every metric tool takes these — the one scope model
    (:mod:`metrics.semantic.params`), enums included. The as-of is the request's, never an
    argument."""


class TableArgs(ScopeArgs):
    sort: str | None = Field(
        None,
        description="Column to sort by (e.g. sessions, logged_in, tasks_overdue, last_visit).",
    )
    descending: bool | None = Field(
        None, description="True for highest first (top, most), false for lowest first (least)."
    )
    limit: int = Field(10, ge=1, le=100, description="How many rows to return.")


class TrendArgs(ScopeArgs):
    bucket: Literal["day", "week", "month"] | None = Field(
        None, description="Bucket size; chosen from the window length when omitted."
    )


class AdoptionArgs(ScopeArgs):
    cost_per_ticket: float = Field(
        10.0, gt=0, description="Cost of one agent-handled ticket, for deflection savings."
    )
    portal_cost: float | None = Field(None, gt=0, description="Cost of the portal, for ROI %.")
    gain: float | None = Field(None, description="Gain to set against the portal cost, for ROI %.")


class RiskArgs(ScopeArgs):
    signal: SignalName | None = Field(
        None,
        description="Only this risk signal; all signals when omitted: "
        + "; ".join(f"{s.name}: {s.description}" for s in REGISTRY.signals.values()),
    )
    level: LevelName | None = Field(
        None, description="Only projects at this risk level (most urgent first)."
    )
    limit: int = Field(15, ge=1, le=100, description="How many signals to return.")


class NeverLoggedInArgs(ScopeArgs):
    kind: Literal["customer", "partner"] | None = Field(
        None, description="Only users of customer accounts, or of partner accounts."
    )
    limit: int = Field(25, ge=1, le=100, description="How many users to list.")


class InactiveArgs(ScopeArgs):
    days: int = Field(14, ge=1, le=365, description="No visit in at least this many days.")
    limit: int = Field(25, ge=1, le=100, description="How many users to list.")


class ProfileArgs(WindowParams):
    """One entity; the window (``range`` or ``from``/``to``) is its activity figures'."""

    kind: Literal["project", "account", "partner", "user"] = Field(
        description="What to describe: a project, a customer account, a partner, or a user."
    )
    name: str = Field(description="Its name or id.")
    exact: bool = Field(False, description="Only this name, no near match (a name checked).")


class DefineArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(description="The metric or word to explain, e.g. 'avg visit duration'.")


class SearchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A name or part of one.")
