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

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection

from metrics.scope import Scope, resolve_scope
from metrics.semantic.vocabulary import REGISTRY


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
    partner_type: str | None = Field(None, description=_describe("partner_type"))
    status: list[str] = Field(default_factory=list, description=_describe("status"))
    project: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("project", "projects"),
        description=_describe("project"),
    )

    @field_validator("account", "status", "project", mode="before")
    @classmethod
    def _many(cls, value: object) -> object:
        """A single value or a comma-separated string is accepted for a repeatable filter."""
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return [v.strip() for item in value for v in str(item).split(",") if v.strip()]
        return value

    def filters(self) -> dict[str, object]:
        """The filters given, by their registry names."""
        given = self.model_dump(include=set(REGISTRY.filters))
        return {k: v for k, v in given.items() if v not in (None, [])}

    def resolve_filters(self, conn: Connection, workspace_id: int) -> dict[str, object]:
        """The filters as ids (strict resolution), keyed like :class:`metrics.scope.Filters`:
        what a tool's fixed filters hold. Raises :class:`ScopeError` for an unknown name."""
        scope = resolve_scope(
            conn,
            workspace_id,
            owner=self.owner,
            accounts=self.account,
            playbook=self.playbook,
            partner_type=self.partner_type,
            status=self.status,
            projects=self.project,
        )
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in scope.filters.as_dict().items()
        }


class ScopeParams(FilterParams):
    """When and whose data."""

    range: str | None = Field(
        None,
        description="Named range relative to as_of (default last_30_days): "
        + ", ".join(REGISTRY.ranges)
        + ". Use either range or from/to.",
    )
    from_: str | None = Field(
        None, alias="from", description="First day of an explicit window, YYYY-MM-DD (with to)."
    )
    to: str | None = Field(None, description="Last day of the window, YYYY-MM-DD, inclusive.")
    as_of: str | None = Field(
        None, description="Date (the end of that day) or ISO 8601 instant that plays 'now'."
    )

    def resolve(self, conn: Connection, workspace_id: int, *, now: datetime | None = None) -> Scope:
        """The validated :class:`Scope` (names resolved strictly; :class:`ScopeError` if not)."""
        return resolve_scope(
            conn,
            workspace_id,
            as_of=self.as_of,
            range=self.range,
            start=self.from_,
            end=self.to,
            owner=self.owner,
            accounts=self.account,
            playbook=self.playbook,
            partner_type=self.partner_type,
            status=self.status,
            projects=self.project,
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
    limit: int | None = Field(None, ge=1, le=100_000, description="Keep the first N rows.")

    @field_validator("where", mode="before")
    @classmethod
    def _conditions(cls, value: object) -> object:
        return [value] if isinstance(value, str) else (value or [])
