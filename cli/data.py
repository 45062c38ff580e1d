"""Getting data in and looking at it: ``import``, ``demo``, ``status``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console

if TYPE_CHECKING:
    from metrics.ingest import ImportReport

ProgressCallback = Callable[..., None]


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("demo")(demo_command)
    app.command("status")(status_command)


@contextmanager
def _file_progress() -> Iterator[ProgressCallback]:
    """A rich progress bar per file, fed by the importer's byte counts."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bars = Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def advance(name: str, done: int, *, total: int) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
        bars.update(tasks[name], completed=done)

    with bars:
        yield advance


def _print_report(report: ImportReport) -> None:
    from rich.table import Table

    table = Table(title="Imported", show_edge=False)
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    rate = report.events / report.seconds if report.seconds else 0
    console.print(
        f"{report.keys_resessionized:,} user/portal keys sessionized, "
        f"{report.sessions_written:,} sessions written in {report.seconds:.1f}s"
        + (f" ({rate:,.0f} events/s)" if report.events else "")
    )


def import_command(
    folder: Annotated[Path, typer.Argument(help="Folder of CSV files (SPEC §2).")],
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Import a folder of CSV files; all or nothing, re-import updates by id."""
    from metrics.db import connect
    from metrics.ingest import import_folder

    if not folder.exists():
        raise UserError(f"no such folder: {folder}")
    engine = connect(db)
    if quiet:
        report = import_folder(engine, folder, workspace=workspace)
    else:
        with _file_progress() as progress:
            report = import_folder(engine, folder, workspace=workspace, progress=progress)
    _print_report(report)


def _parse_as_of(value: str | None) -> date | datetime:
    """A date (the data ends with that day), or now: the data ends at this instant."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--as-of: {value!r} is not a date (YYYY-MM-DD)") from None


def demo_command(
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 7,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date the data ends with (default: it ends now, UTC)."),
    ] = None,
    events: Annotated[int, typer.Option(help="Number of events to generate.", min=100)] = 50_000,
    out: Annotated[Path, typer.Option(help="Where to write the CSV folder.")] = Path("demo-data"),
    load: Annotated[bool, typer.Option(help="Import the folder after writing it.")] = True,
) -> None:
    """Generate a realistic demo book of business as CSV files and import it."""
    from rich.progress import Progress

    from metrics.db import connect
    from metrics.demo import generate_demo
    from metrics.ingest import import_folder

    day = _parse_as_of(as_of)
    shown = f"{day:%Y-%m-%d %H:%M} UTC" if isinstance(day, datetime) else f"the end of {day}"
    console.print(f"Writing demo data (seed {seed}, as of {shown}, ~{events:,} events) to {out}/")
    with Progress(console=console, transient=True) as bars:
        task = bars.add_task("events", total=events)
        summary = generate_demo(
            out,
            seed=seed,
            as_of=day,
            events=events,
            progress=lambda n: bars.advance(task, n),
        )
    console.print(", ".join(f"{name} {count:,}" for name, count in summary.counts.items()))
    if load:
        engine = connect(db)
        with _file_progress() as progress:
            report = import_folder(engine, out, workspace=workspace, progress=progress)
        _print_report(report)


def status_command(db: DbOption = None, workspace: WorkspaceOption = DEFAULT_WS) -> None:
    """What the workspace holds: rows per entity, sessions and the span of events."""
    from rich.table import Table

    from metrics.db import connect
    from metrics.status import workspace_status

    engine = connect(db)
    with engine.connect() as conn:
        status = workspace_status(conn, workspace)
    table = Table(title=f"Workspace {workspace!r} in {engine.url.render_as_string()}")
    table.add_column("what")
    table.add_column("rows", justify="right")
    for name, count in status.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    if status.first_event is None:
        console.print("No events yet: try `portalpulse demo` or `portalpulse import DIR`.")
    else:
        from metrics.formatting import format_value

        first, last = (format_value(t, "datetime") for t in (status.first_event, status.last_event))
        console.print(f"Events from {first} to {last} UTC", highlight=False)
