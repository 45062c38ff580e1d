"""The ``portalpulse`` command line.

Every command takes ``--db URL`` (or ``PORTALPULSE_DB``) and ``--workspace``;
user mistakes print one clear message and exit 1, usage mistakes one line and
exit 2, never a traceback.

Each module named in :data:`COMMANDS` has ``register(app)``; adding a command
is adding its module's name there. The modules import only typer and rich at
the top: the metrics layer, the web app and the assistant are imported inside
the command that needs them, so ``--help`` and quick commands start fast.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from cli.common import run_app

COMMANDS = ("data", "metrics", "query", "ask", "serve", "keys", "digest", "eval", "mcp")
"""Modules of this package whose ``register(app)`` adds their commands, in help order."""

app = typer.Typer(
    name="portalpulse",
    help="Engagement analytics for customer and partner portals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for _name in COMMANDS:
    import_module(f"cli.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_app(app))
