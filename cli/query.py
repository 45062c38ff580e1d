"""``portalpulse query``: any measures by any dimensions over a scope (SPEC §6).

Flags and JSON keys are SPEC §6's; measure, dimension and filter names (and
their help) come from the semantic registry, so a new measure is queryable
here without touching this file. ``--list`` prints the vocabulary.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console
from metrics.db import connect, workspace_id
from metrics.scope import ScopeError
from metrics.semantic.params import ScopeParams
from metrics.semantic.query import QueryResult, parse_query, run_query
from metrics.semantic.vocabulary import REGISTRY

_HELP = ScopeParams.model_fields


def register(app: typer.Typer) -> None:
    app.command("query")(query_command)


def _help(name: str) -> str:
    return _HELP[name].description or ""


def query_command(
    measures: Annotated[
        str | None,
        typer.Argument(
            metavar="MEASURES",
            help="Comma-separated measures: " + ", ".join(REGISTRY.measures) + ".",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Comma-separated dimensions: " + ", ".join(REGISTRY.dimensions) + "."),
    ] = None,
    range_: Annotated[str | None, typer.Option("--range", "-r", help=_help("range"))] = None,
    start: Annotated[str | None, typer.Option("--from", help=_help("from_"))] = None,
    end: Annotated[str | None, typer.Option("--to", help=_help("to"))] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=_help("as_of"))] = None,
    owner: Annotated[str | None, typer.Option(help=_help("owner"))] = None,
    account: Annotated[list[str] | None, typer.Option(help=_help("account"))] = None,
    partner_type: Annotated[str | None, typer.Option(help=_help("partner_type"))] = None,
    playbook: Annotated[str | None, typer.Option(help=_help("playbook"))] = None,
    status: Annotated[list[str] | None, typer.Option(help=_help("status"))] = None,
    project: Annotated[list[str] | None, typer.Option(help=_help("project"))] = None,
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
    engine = connect(db)
    with engine.connect() as conn:
        try:
            spec = parse_query(
                measures, by=by, where=where, sort=sort, descending=not asc, limit=limit
            )
            params = ScopeParams.model_validate(
                {
                    "range": range_, "from": start, "to": end, "as_of": as_of, "owner": owner,
                    "account": account, "partner_type": partner_type, "playbook": playbook,
                    "status": status, "project": project,
                }
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
    """The rows as a table with a totals line; names for entities, formatted measures."""
    console.print(
        f"[bold]{', '.join(REGISTRY.label(m) for m in result.measures)}[/]"
        + (f" by {', '.join(result.by)}" if result.by else "")
        + f"  {result.window.start[:10]} → {result.window.end[:10]}"
        + (f"  where {' and '.join(result.where)}" if result.where else ""),
        highlight=False,
    )
    table = Table(show_footer=True)
    for dim in result.by:
        table.add_column(REGISTRY.label(dim), footer="Total" if dim == result.by[0] else "")
    for name in result.measures:
        table.add_column(
            REGISTRY.label(name),
            justify="right",
            footer=_value(name, result.totals.get(name)),
            no_wrap=True,
        )
    for row in result.rows:
        dims = [str(row.get(f"{d}_name") or row.get(d) or "—") for d in result.by]
        table.add_row(*dims, *(_value(m, row.get(m)) for m in result.measures))
    console.print(table)
    shown = len(result.rows)
    if shown < result.groups:
        console.print(f"{shown} of {result.groups} groups", style="dim")


def _value(measure: str, value: object) -> str:
    if value is None:
        return "—"
    if REGISTRY.format_of(measure) == "seconds" and isinstance(value, int | float):
        minutes, secs = divmod(round(value), 60)
        return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def print_vocabulary() -> None:
    """The registry's measures, dimensions and filters, one table each."""
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
