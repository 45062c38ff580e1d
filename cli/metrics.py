"""``portalpulse metrics SECTION``: any section of SPEC §4, as a table or as JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console
from metrics.db import connect, workspace_id
from metrics.scope import ScopeError, resolve_scope
from metrics.sections import SECTIONS, section, split_options


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics_command)


def _split(values: list[str] | None) -> list[str]:
    """Repeated or comma-separated option values."""
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def metrics_command(
    name: Annotated[str, typer.Argument(metavar="SECTION", help=f"One of: {', '.join(SECTIONS)}.")],
    range_: Annotated[
        str | None,
        typer.Option("--range", "-r", help="Named range, e.g. last_30_days, this_month."),
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date or instant that plays 'now'.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Team member (id, name or email).")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Account id or name.")] = None,
    playbook: Annotated[str | None, typer.Option(help="Project playbook.")] = None,
    partner_type: Annotated[str | None, typer.Option(help="referral or reseller.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Project status.")] = None,
    project: Annotated[list[str] | None, typer.Option(help="Project id or name.")] = None,
    sort: Annotated[str | None, typer.Option(help="Column to sort tables by.")] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    page: Annotated[int | None, typer.Option(help="Page of a paged table.")] = None,
    limit: Annotated[int | None, typer.Option(help="Rows in top lists.")] = None,
    bucket: Annotated[str | None, typer.Option(help="Trend bucket: day, week or month.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Compute one metrics section over a window, as-of instant and filters."""
    if name not in SECTIONS:
        raise UserError(f"unknown section {name!r}; one of: {', '.join(SECTIONS)}")
    compute = section(name)
    requested = {
        "sort": sort,
        "descending": desc or None,
        "page": page,
        "limit": limit,
        "bucket": bucket,
    }
    options, refused = split_options(name, requested)
    if refused:
        flags = ", ".join(f"--{k}" for k in refused)
        raise UserError(f"section {name!r} does not take {flags}")
    engine = connect(db)
    with engine.connect() as conn:
        try:
            scope = resolve_scope(
                conn,
                workspace_id(conn, workspace, create=False),
                as_of=as_of,
                range=range_,
                start=start,
                end=end,
                owner=owner,
                accounts=_split(account),
                playbook=playbook,
                partner_type=partner_type,
                status=_split(status),
                projects=_split(project),
            )
            result = compute(conn, scope, **options)
        except (ScopeError, ValueError) as exc:
            raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    render(result)


# -- rendering -------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items())
    if isinstance(value, BaseModel):
        return _cell(value.model_dump())
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _rows(value: Any) -> list[dict[str, Any]] | None:
    """A list of models or dicts as rows, else None."""
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, BaseModel) for v in value):
        return [dict(v) for v in value]
    if all(isinstance(v, dict) for v in value):
        return value
    return None


TERMINAL_COLUMNS = {
    ("risks", "signals"): ("severity", "signal", "entity", "account", "numbers", "next_step"),
    ("risks", "projects"): (
        "project", "account", "risk_level", "on_time_health", "overdue", "due",
        "engagement_level", "days_since_activity",
    ),
    ("projects", "projects"): (
        "project", "account", "owner", "status", "invited", "logged_in", "sessions",
        "avg_session_seconds", "last_visit", "tasks_completed", "tasks_overdue",
        "tasks_unassigned",
    ),
    ("users", "users"): (
        "user", "project", "invited_at", "first_login", "last_visit", "logins", "sessions",
        "open_assigned_tasks",
    ),
    ("leaderboard", "rows"): (
        "rank", "partner", "partner_type", "users", "sessions", "page_views",
        "avg_session_seconds", "score",
    ),
}  # fmt: skip
"""Columns a terminal table shows for wide sections (``--json`` always has them all)."""


def render(result: BaseModel) -> None:
    """Print a section readably: scalars as key/value, lists of rows as tables."""
    scope = getattr(result, "scope", {})
    title = getattr(result, "section", "")
    console.print(
        f"[bold]{title}[/]  {scope.get('from', '')} → {scope.get('to', '')}"
        f"  as of {scope.get('as_of', '')}"
        + (f"  filters {scope['filters']}" if scope.get("filters") else ""),
        highlight=False,
    )
    pairs = Table(show_header=False, box=None, pad_edge=False)
    for key, value in result:
        if key in ("section", "scope"):
            continue
        rows = _rows(value)
        if rows is not None:
            table = Table(title=key, title_justify="left")
            columns = TERMINAL_COLUMNS.get((title, key), tuple(rows[0]))
            for column in columns:
                table.add_column(column, justify="right" if _numeric(rows, column) else "left")
            for row in rows:
                table.add_row(*(_cell(row.get(c)) for c in columns))
            console.print(table)
        elif isinstance(value, BaseModel):
            sub = Table(title=key, title_justify="left", show_header=False)
            for k, v in value:
                sub.add_row(k, _cell(v))
            console.print(sub)
        else:
            pairs.add_row(f"[dim]{key}[/]", _cell(value) if value != [] else "none")
    if pairs.row_count:
        console.print(pairs)


def _numeric(rows: list[dict[str, Any]], column: str) -> bool:
    return all(isinstance(r.get(column), int | float | type(None)) for r in rows)
