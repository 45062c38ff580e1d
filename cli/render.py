"""A metrics section as terminal tables, formatted like the dashboard.

Values go through :mod:`metrics.formatting` (durations ``12m 22s``, ratios as
percentages, instants as dates in prose, enum values in words). A number or a
date is never cut: its column is as wide as its widest value. Names wrap in the
width that is left; when even that does not fit the terminal, the least
important columns are left out and a note under the table names them
(``--json`` always has every field).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table

from metrics.formatting import MISSING, format_field, format_for, format_value, text

TERMINAL_COLUMNS = {
    ("risks", "signals"): ("severity", "signal", "entity", "numbers", "account", "next_step"),
    ("risks", "projects"): (
        "project", "risk_level", "days_since_activity", "overdue", "due", "on_time_health",
        "engagement_level", "account",
    ),
    ("projects", "projects"): (
        "project", "status", "sessions", "avg_session_seconds", "invited", "logged_in",
        "tasks_overdue", "tasks_unassigned", "tasks_completed", "last_visit", "account", "owner",
    ),
    ("users", "users"): (
        "user", "project", "logins", "sessions", "last_visit", "first_login", "invited_at",
        "open_assigned_tasks",
    ),
    ("leaderboard", "rows"): (
        "rank", "partner", "score", "sessions", "users", "page_views", "avg_session_seconds",
        "partner_type",
    ),
}  # fmt: skip
"""Columns of the wide sections' tables, most important first (the first are kept)."""

TITLES = {("leaderboard", "rows"): "partners", ("content", "rooms"): "rooms"}

LABELS = {
    "sessions": "Visits",
    "avg_session_seconds": "Avg visit",
    "tasks_completed": "Tasks done",
    "tasks_overdue": "Overdue",
    "tasks_unassigned": "Unassigned",
    "tasks_assigned": "Assigned",
    "open_assigned_tasks": "Open tasks",
    "days_since_activity": "Days idle",
    "page_views": "Page views",
    "unique_users": "Unique users",
    "on_time_health": "On time",
    "engagement_level": "Engagement",
    "risk_level": "Risk",
    "next_step": "Next step",
}


def label(key: str) -> str:
    return LABELS.get(key) or text(key)


def cell(key: str, value: Any) -> str:
    """One value as the table shows it."""
    if value is None:
        return MISSING
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        if set(value) >= {"action", "at"}:  # a last action: what and when
            return f"{text(value['action'])} · {format_value(value['at'], 'datetime')}"
        return ", ".join(f"{label(k).lower()} {cell(k, v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(cell(key, v) for v in value) or MISSING
    return format_field(key, value)


def _fixed(key: str, rows: Sequence[dict[str, Any]]) -> bool:
    """Whether column ``key`` holds numbers, dates or enum words (never wrapped)."""
    values = [r.get(key) for r in rows if r.get(key) is not None]
    if not values:
        return True
    return all(isinstance(v, int | float) or format_for(key, v) is not None for v in values)


def table(
    key: str, rows: Sequence[dict[str, Any]], columns: Sequence[str], width: int
) -> tuple[Table, list[str]]:
    """A rich table of ``rows`` that fits ``width``, and the columns left out.

    Columns are taken in priority order while every number and date still fits
    whole and every name column keeps at least its longest word.
    """
    cells = {c: [cell(c, r.get(c)) for r in rows] for c in columns}
    fixed = {c: _fixed(c, rows) for c in columns}
    need = {c: _min_width(c, cells[c], fixed[c]) for c in columns}
    kept: list[str] = []
    for column in columns:
        trial = [*kept, column]
        if not kept or sum(need[c] for c in trial) + _overhead(len(trial)) <= width:
            kept = trial
    shown = [c for c in columns if c in kept]
    widths = _widths(shown, cells, fixed, need, width)
    out = Table(title=text(key), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in shown:
        numeric = all(isinstance(r.get(column), int | float | type(None)) for r in rows)
        out.add_column(
            label(column),
            justify="right" if numeric else "left",
            width=widths[column],
            overflow="fold",
        )
    for i in range(len(rows)):
        out.add_row(*(cells[c][i] for c in shown))
    return out, [c for c in columns if c not in kept]


def _overhead(columns: int) -> int:
    """Characters a SIMPLE_HEAD table without edge padding adds around ``columns`` cells."""
    return 3 * columns - 1


def _min_width(column: str, values: Sequence[str], fixed: bool) -> int:
    header = max((len(w) for w in label(column).split()), default=1)
    if fixed:  # whole: numbers, dates, enum words
        return max([header, *(len(v) for v in values)])
    words = max((len(w) for v in values for w in v.split()), default=1)
    return max(header, min(words, 16))


def _widths(
    shown: Sequence[str],
    cells: dict[str, list[str]],
    fixed: dict[str, bool],
    need: dict[str, int],
    width: int,
) -> dict[str, int]:
    """Fixed columns at their width; the room left shared among the name columns."""
    widths = {c: need[c] for c in shown}
    free = [c for c in shown if not fixed[c]]
    room = width - sum(widths.values()) - _overhead(len(shown))
    while room > 0 and free:
        widest = {c: max((len(v) for v in cells[c]), default=1) for c in free}
        growing = [c for c in free if widths[c] < widest[c]]
        if not growing:
            break
        for column in growing:
            if room <= 0:
                break
            widths[column] += 1
            room -= 1
    return widths


def _rows(value: Any) -> list[dict[str, Any]] | None:
    """A list of models or dicts as rows, else None."""
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, BaseModel) for v in value):
        return [dict(v) for v in value]
    if all(isinstance(v, dict) for v in value):
        return value
    return None


def as_of_text(value: Any) -> str:
    """``end of 22 Nov 2026`` for a midnight (a date given as as-of), else the instant."""
    if not value:
        return MISSING
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return f"end of {format_value(moment - timedelta(days=1), 'date')}"
    return f"{format_value(moment, 'datetime')} UTC"


def scope_line(title: str, scope: dict[str, Any]) -> str:
    """``projects · 26 Nov 2026 – 2 Dec 2026 · as of 2 Dec 2026 19:23 UTC`` (or ``end of``)."""
    first = format_value(scope.get("from"), "date")
    last = format_value(scope.get("last_day") or scope.get("to"), "date")
    span = first if first == last else f"{first} – {last}"
    line = f"{title} · {span} · as of {as_of_text(scope.get('as_of'))}"
    filters = scope.get("filters") or {}
    if filters:
        line += " · " + ", ".join(f"{text(k).lower()} {cell(k, v)}" for k, v in filters.items())
    return line


def change_text(pct: float | None, previous: Any) -> str:
    """A percent change against the previous period, in words."""
    if pct is None:
        return "new (was 0)" if previous == 0 else MISSING
    if pct == 0:
        return "± 0%"
    return f"{'▲' if pct > 0 else '▼'} {format_value(abs(pct), 'number')}%"


def kpi_table(result: BaseModel) -> Table:
    """The KPI cards as one table: this window, the previous one, the change."""
    prev = result.previous_window  # type: ignore[attr-defined]
    last = datetime.fromisoformat(prev["to"].replace("Z", "+00:00")) - timedelta(microseconds=1)
    span = f"{format_value(prev['from'], 'date')} – {format_value(last, 'date')}"
    out = Table(
        title=f"KPIs (previous window {span})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    out.add_column("")
    out.add_column("This window", justify="right", no_wrap=True)
    out.add_column("Previous", justify="right", no_wrap=True)
    out.add_column("Change", justify="right", no_wrap=True)
    previous = dict(result.previous)  # type: ignore[attr-defined]
    for key, value in dict(result.kpis).items():  # type: ignore[attr-defined]
        before = previous.get(key)
        out.add_row(
            label(key),
            cell(key, value),
            cell(key, before),
            change_text(result.change_pct.get(key), before),  # type: ignore[attr-defined]
        )
    return out


def render(result: BaseModel, console: Console) -> None:
    """Print a section readably: scalars as key/value, lists of rows as tables."""
    title = getattr(result, "section", "")
    width = console.width
    console.print(f"[bold]{scope_line(title, getattr(result, 'scope', {}))}[/]", highlight=False)
    if title == "kpis":
        console.print(kpi_table(result))
        return
    pairs = Table(show_header=False, box=None, pad_edge=False)
    pairs.add_column(no_wrap=True, style="dim")
    pairs.add_column(overflow="fold")
    for key, value in result:
        if key in ("section", "scope"):
            continue
        rows = _rows(value)
        if rows is not None:
            columns = TERMINAL_COLUMNS.get((title, key), tuple(rows[0]))
            columns = [c for c in columns if not c.endswith("_id")] or list(columns)
            out, hidden = table(TITLES.get((title, key), key), rows, columns, width)
            console.print(out)
            if hidden:
                console.print(
                    f"[dim]Not shown at {width} columns: {', '.join(label(c) for c in hidden)}"
                    " (use --json or a wider terminal).[/]",
                    highlight=False,
                )
        elif isinstance(value, BaseModel | dict) and not (
            isinstance(value, dict) and set(value) >= {"action", "at"}
        ):
            items = value if isinstance(value, dict) else dict(value)
            sub = Table(title=text(key), title_justify="left", show_header=False, box=box.SIMPLE)
            sub.add_column(no_wrap=True)
            sub.add_column(justify="right", overflow="fold")
            for k, v in items.items():
                sub.add_row(label(k), cell(k, v))
            console.print(sub)
        else:
            pairs.add_row(label(key), cell(key, value) if value != [] else "none")
    if pairs.row_count:
        console.print(pairs)
