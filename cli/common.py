"""Options and error handling shared by every command.

Nothing here imports the metrics layer, SQLAlchemy or the assistant: ``portalpulse
--help`` and a usage error stay fast, and each command imports what it needs when
it runs (``bench/cli.py`` measures it).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import ClickException, NoArgsIsHelpError

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
DEFAULT_WS = "default"
"""``metrics.db.DEFAULT_WORKSPACE`` (not imported here: it would load SQLAlchemy)."""


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback."""


def _loaded(module: str, name: str) -> type[BaseException] | None:
    """Exception class ``name`` of ``module`` if it was imported (else nothing raised it)."""
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def run_app(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run ``app``: user errors exit 1 and usage errors 2, each as one line, never a traceback."""
    try:
        app(args=args, standalone_mode=False, prog_name="portalpulse")
    except (typer.Exit, ClickException, typer.Abort, UserError, Exception) as exc:
        return _report(exc)
    return 0


def _report(exc: BaseException) -> int:
    rejected = _loaded("metrics.ingest.importer", "ImportRejected")
    database_error = _loaded("metrics.db", "DatabaseError")
    if rejected is not None and isinstance(exc, rejected):
        err_console.print(f"[red]error:[/] {exc}")
        for error in exc.errors:  # type: ignore[attr-defined]
            err_console.print(f"  {error}", highlight=False, markup=False)
        total, shown = exc.total, len(exc.errors)  # type: ignore[attr-defined]
        if total > shown:
            err_console.print(f"  … and {total - shown} more")
        err_console.print("Nothing was imported.")
        return 1
    if isinstance(exc, UserError) or (database_error and isinstance(exc, database_error)):
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, typer.Abort):
        err_console.print("aborted")
        return 1
    if isinstance(exc, ClickException):
        return _usage_error(exc)
    raise exc


def _usage_error(exc: ClickException) -> int:
    """A usage mistake as one line: what is wrong and where to read the usage."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, NoArgsIsHelpError) and ctx is not None:
        console.print(ctx.get_help(), highlight=False, markup=False)  # a bare group: its help
        return exc.exit_code
    command = ctx.command_path if ctx is not None else "portalpulse"
    message = " ".join(exc.format_message().split())
    hint = f" (see '{command} --help')" if exc.exit_code == 2 else ""
    err_console.print(f"[red]error:[/] {escape(message + hint)}", highlight=False)
    return exc.exit_code
