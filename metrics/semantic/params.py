"""The one scope model: the same names for HTTP query parameters, CLI options, tool
arguments and an ask's fixed filters (SPEC §3).

``from``/``to`` are explicit whole days (``to`` inclusive), ``range`` a named
range from the registry, ``as_of`` the instant that plays "now"; the filters
are those the registry declares. :meth:`ScopeParams.resolve` validates and
resolves every name once (strict), returning the :class:`~metrics.scope.Scope`
everything below works with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection

from metrics.scope import Scope, resolve_scope
from metrics.semantic.resolve import resolve_value
from metrics.semantic.vocabulary import (
    PARTNER_TYPES,
    PROJECT_STATUSES,
    REGISTRY,
    WINDOW_HELP,
)

RangeName = Literal[tuple(REGISTRY.ranges)]  # type: ignore[valid-type]
PartnerType = Literal[PARTNER_TYPES]  # type: ignore[valid-type]
Status = Literal[PROJECT_STATUSES]  # type: ignore[valid-type]


def enum_word(value: object) -> object:
    """``In progress``, ``in-progress`` and `` IN_PROGRESS`` all as ``in_progress``."""
    if isinstance(value, str):
        return "_".join(value.strip().lower().replace("-", " ").split()) or None
    return value


def _describe(name: str) -> str:
    item = REGISTRY.filters[name]
    if item.values:
        return f"{item.description} One of: {', '.join(item.values)}."
    return item.description


class FilterParams(BaseModel):
    """Whose data: the registry's filters, by their one set of names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    owner: str | None = Field(None, description=_describe("owner"))
    account: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("account", "accounts"),
        description=_describe("account"),
    )
    playbook: str | None = Field(None, description=_describe("playbook"))
    partner_type: PartnerType | None = Field(None, description=_describe("partner_type"))
    status: list[Status] = Field(default_factory=list, description=_describe("status"))
    project: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("project", "projects"),
        description=_describe("project"),
    )

    @field_validator("status", mode="before")
    @classmethod
    def _statuses(cls, value: object) -> object:
        """Statuses, repeated or comma-separated (no status holds a comma), in any case."""
        many = cls._many(value)
        if not isinstance(many, list):
            return many
        return [enum_word(part) for v in many for part in v.split(",") if part.strip()]

    @field_validator("account", "project", mode="before")
    @classmethod
    def _many(cls, value: object) -> object:
        """One value or several (the parameter repeated); a name may hold commas."""
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return [str(v).strip() for v in value if str(v).strip()]
        return value

    @field_validator("partner_type", mode="before")
    @classmethod
    def _partner_type(cls, value: object) -> object:
        return enum_word(value)

    @field_validator("status", mode="after")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def scope_filters(self) -> dict[str, Any]:
        """The filters as :func:`metrics.scope.resolve_scope`'s keyword arguments."""
        return {
            "owner": self.owner,
            "accounts": self.account,
            "playbook": self.playbook,
            "partner_type": self.partner_type,
            "status": self.status,
            "projects": self.project,
        }

    def resolve_filters(self, conn: Connection, workspace_id: int) -> dict[str, object]:
        """The filters as ids (strict resolution), keyed like :class:`metrics.scope.Filters`:
        what a tool's fixed filters hold. Raises :class:`ScopeError` for an unknown name."""
        scope = resolve_scope(
            conn,
            workspace_id,
            **self.scope_filters(),
        )
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in scope.filters.as_dict().items()
        }


class WindowParams(BaseModel):
    """When: a named range or explicit whole days."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    range: RangeName | None = Field(  # type: ignore[valid-type]
        None, description=WINDOW_HELP["range"].format(ranges=", ".join(REGISTRY.ranges))
    )
    from_: str | None = Field(None, alias="from", description=WINDOW_HELP["from"])
    to: str | None = Field(None, description=WINDOW_HELP["to"])

    @field_validator("range", mode="before")
    @classmethod
    def _range(cls, value: object) -> object:
        """A named range, in any case; an unknown one says which ranges there are."""
        if not isinstance(value, str):
            return value
        return resolve_value("range", value.replace("-", "_"), tuple(REGISTRY.ranges))


class ScopeParams(WindowParams, FilterParams):
    """When and whose data, as of an instant."""

    as_of: str | None = Field(None, description=WINDOW_HELP["as_of"])

    def resolve(self, conn: Connection, workspace_id: int, *, now: datetime | None = None) -> Scope:
        """The validated :class:`Scope` (names resolved strictly; :class:`ScopeError` if not)."""
        return resolve_scope(
            conn,
            workspace_id,
            as_of=self.as_of,
            range=self.range,
            start=self.from_,
            end=self.to,
            **self.scope_filters(),
            now=now,
        )


class QueryParams(ScopeParams):
    """SPEC §6's query: measures × dimensions × the scope × where × sort × limit."""

    measures: str = Field(
        description="Comma-separated measures: " + ", ".join(REGISTRY.measures) + "."
    )
    by: str | None = Field(
        None, description="Comma-separated dimensions: " + ", ".join(REGISTRY.dimensions) + "."
    )
    where: list[str] = Field(
        default_factory=list,
        description="'MEASURE OP NUMBER' (> >= < <= = !=); several must all hold.",
    )
    sort: str | None = Field(None, description="Measure to sort the rows by.")
    descending: bool = Field(True, description="Sort direction (default descending).")
    asc: bool = Field(False, description="Sort ascending (as the CLI's --asc).")
    desc: bool = Field(False, description="Sort descending (as the CLI's --desc).")
    limit: int | None = Field(None, ge=1, le=100_000, description="Keep the first N rows.")

    @field_validator("where", mode="before")
    @classmethod
    def _conditions(cls, value: object) -> object:
        return [value] if isinstance(value, str) else (value or [])

    @model_validator(mode="after")
    def _direction(self) -> QueryParams:
        if self.asc and self.desc:
            raise ValueError("give asc or desc, not both")
        if self.asc or self.desc:
            self.descending = self.desc
        return self
