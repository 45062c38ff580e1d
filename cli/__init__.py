"""The ``portalpulse`` command line.

Every command takes ``--db URL`` (or ``PORTALPULSE_DB``) and ``--workspace``;
user mistakes print one clear message and exit non-zero, never a traceback.
"""

from __future__ import annotations

import sys

import typer

import cli.eval
from cli import ask, data, digest, keys, mcp, metrics, query, serve
from cli.common import run_app

app = typer.Typer(
    name="portalpulse",
    help="Engagement analytics for customer and partner portals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data.register(app)
metrics.register(app)
query.register(app)
ask.register(app)
serve.register(app)
keys.register(app)
digest.register(app)
cli.eval.register(app)
mcp.register(app)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_app(app))
