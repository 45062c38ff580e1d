"""``portalpulse query``: any measures by any dimensions over a scope (SPEC §6).

Flags and JSON keys are SPEC §6's; measure, dimension and filter names (and
their help) come from the semantic registry, so a new measure is queryable
here without touching this file. ``--list`` prints the vocabulary.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console
from cli.scope import (
    AccountOption,
    AsOfOption,
    FromOption,
    OwnerOption,
    PartnerTypeOption,
    PlaybookOption,
    ProjectOption,
    RangeOption,
    StatusOption,
    ToOption,
    scope_params,
)
from metrics.semantic.vocabulary import REGISTRY

if TYPE_CHECKING:  # the query machinery loads only when the command runs (fast --help)
    from metrics.semantic.query import QueryResult


def register(app: typer.Typer) -> None:
    app.command("query")(query_command)


def query_command(
    measures: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="MEASURES",
            help="Comma-separated measures: " + ", ".join(REGISTRY.measures) + ".",
        ),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            help="Comma-separated dimensions (or --by repeated): "
            + ", ".join(REGISTRY.dimensions)
            + "."
        ),
    ] = None,
    range_: RangeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    account: AccountOption = None,
    partner_type: PartnerTypeOption = None,
    playbook: PlaybookOption = None,
    status: StatusOption = None,
    project: ProjectOption = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Keep groups where 'MEASURE OP NUMBER' holds (> >= < <= = !=)."),
    ] = None,
    sort: Annotated[str | None, typer.Option(help="Measure to sort the rows by.")] = None,
    asc: Annotated[bool, typer.Option("--asc", help="Sort ascending.")] = False,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending (default).")] = False,
    limit: Annotated[int | None, typer.Option(help="Keep the first N rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="SPEC §6's JSON object.")] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the measures, dimensions and filters.")
    ] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Measures by dimensions over a window, as-of and filters, with where, sort and limit."""
    if list_:
        print_vocabulary()
        return
    if not measures:
        raise UserError("give MEASURES, e.g. `portalpulse query sessions --by account` (--list)")
    if asc and desc:
        raise UserError("give --asc or --desc, not both")
    from metrics.db import connect, workspace_id
    from metrics.scope import ScopeError
    from metrics.semantic.query import parse_query, run_query

    engine = connect(db)
    with engine.connect() as conn:
        try:
            spec = parse_query(
                measures, by=by, where=where, sort=sort, descending=not asc, limit=limit
            )
            params = scope_params(
                range=range_, **{"from": start, "to": end}, as_of=as_of, owner=owner,
                account=account, partner_type=partner_type, playbook=playbook, status=status,
                project=project,
            )  # fmt: skip
            scope = params.resolve(conn, workspace_id(conn, workspace, create=False))
            result = run_query(conn, scope, spec)
        except ScopeError as exc:
            raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps(result.model_dump(include=_SPEC_KEYS), indent=2))
        return
    render(result)


_SPEC_KEYS = {"measures", "by", "window", "rows", "totals"}


def render(result: QueryResult) -> None:
    from rich.table import Table

    """The rows as a table with a totals line; names for entities, formatted measures."""
    console.print(
        f"[bold]{', '.join(REGISTRY.measures[m].label for m in result.measures)}[/]"
        + (f" by {', '.join(result.by)}" if result.by else "")
        + f"  {_window(result)}"
        + (f"  where {' and '.join(result.where)}" if result.where else ""),
        highlight=False,
    )
    table = Table(show_footer=True)
    for dim in result.by:
        label = REGISTRY.dimensions[dim].label
        table.add_column(label, footer="Total" if dim == result.by[0] else "")
    for name in result.measures:
        table.add_column(
            REGISTRY.measures[name].label,
            justify="right",
            footer=_value(name, result.totals.get(name)),
            no_wrap=True,
        )
    for row in result.rows:
        dims = [_dimension(row, d) for d in result.by]
        table.add_row(*dims, *(_value(m, row.get(m)) for m in result.measures))
    console.print(table)
    shown = len(result.rows)
    if shown < result.groups:
        console.print(f"{shown} of {result.groups} groups", style="dim")


def _window(result: QueryResult) -> str:
    """The days counted, in prose: first day – last day."""
    from datetime import datetime, timedelta

    from metrics.formatting import day_text

    start = datetime.fromisoformat(result.window.start)
    last = datetime.fromisoformat(result.window.end) - timedelta(microseconds=1)
    return f"{day_text(start.date())} – {day_text(last.date())}"


def _value(measure: str, value: object) -> str:
    from metrics.formatting import format_value

    return format_value(value, REGISTRY.format_of(measure))


def _dimension(row: dict[str, object], dim: str) -> str:
    """An entity's name (else its id), a category in words, a bucket as a date."""
    from metrics.formatting import format_value

    value = row.get(f"{dim}_name") or row.get(dim)
    if value is None:
        return "—"
    kind = REGISTRY.dimensions[dim].kind
    fmt = "date" if kind == "time" else "text" if kind == "category" else None
    return format_value(value, fmt) if fmt else str(value)


def print_vocabulary() -> None:
    """The registry's measures, dimensions and filters, one table each."""
    from rich.table import Table

    measures = Table("measure", "kind", "description", title="Measures", title_justify="left")
    for m in REGISTRY.measures.values():
        measures.add_row(m.name, m.temporal, m.description)
    dims = Table("dimension", "kind", "attribution", title="Dimensions", title_justify="left")
    for d in REGISTRY.dimensions.values():
        dims.add_row(d.name, d.kind, d.attribution)
    filters = Table("filter", "description", title="Filters", title_justify="left")
    for f in REGISTRY.filters.values():
        filters.add_row(f"--{f.name.replace('_', '-')}", f.description)
    for table in (measures, dims, filters):
        console.print(table)
