"""Options and error handling shared by every command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from metrics.db import DEFAULT_WORKSPACE, DatabaseError
from metrics.ingest import ImportRejected

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error is one greppable line

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="PORTALPULSE_DB",
        help="SQLAlchemy database URL (default: sqlite:///portalpulse.db).",
        show_envvar=True,
    ),
]
WorkspaceOption = Annotated[
    str,
    typer.Option(
        "--workspace",
        "-w",
        envvar="PORTALPULSE_WORKSPACE",
        help="Workspace (tenant) to work in.",
    ),
]
DEFAULT_WS = DEFAULT_WORKSPACE


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback."""


def run_app(app: typer.Typer) -> int:
    """Run ``app`` and turn user errors into a message and exit code 1."""
    try:
        app(standalone_mode=False)
    except ImportRejected as exc:
        err_console.print(f"[red]error:[/] {exc}")
        for error in exc.errors:
            err_console.print(f"  {error}", highlight=False, markup=False)
        if exc.total > len(exc.errors):
            err_console.print(f"  … and {exc.total - len(exc.errors)} more")
        err_console.print("Nothing was imported.")
        return 1
    except (UserError, DatabaseError) as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except Exception as exc:  # click's usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0
