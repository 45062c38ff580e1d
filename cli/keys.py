"""``portalpulse keys create|list|revoke``: API keys, one workspace each.

The plain key is printed once, by ``create``; the database keeps only its
hash, so a lost key cannot be shown again — revoke it and create another.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="API keys for the HTTP API (one workspace per key).")
    keys.command("create")(create_command)
    keys.command("list")(list_command)
    keys.command("revoke")(revoke_command)
    app.add_typer(keys, name="keys")


def create_command(
    workspace: WorkspaceOption = DEFAULT_WS,
    name: Annotated[str, typer.Option("--name", help="A label: who or what uses the key.")] = "",
    db: DbOption = None,
) -> None:
    """Create a key for --workspace and print it (only this once)."""
    from metrics.db import connect
    from web.auth import create_key, workspace_exists

    engine = connect(db)
    with engine.begin() as conn:
        new = not workspace_exists(conn, workspace)
        key, info = create_key(conn, workspace, name)
    note = " — a new, empty workspace" if new else ""
    console.print(
        f"API key for workspace {workspace!r}{note} ({info.name}):",
        highlight=False,
        soft_wrap=True,
    )
    print(key)  # plain, on its own line: easy to copy or capture in a script
    console.print(
        "Store it now: it is not shown again. Send it as 'Authorization: Bearer <key>'.",
        style="dim",
    )


def list_command(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace's keys.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Keys by prefix (never the secret), newest first."""
    from metrics.db import connect
    from web.auth import list_keys

    engine = connect(db)
    with engine.connect() as conn:
        keys = list_keys(conn, workspace)
    if not keys:
        console.print("No API keys" + (f" for workspace {workspace!r}" if workspace else ""))
        return
    table = Table(show_edge=False)
    for column in ("prefix", "workspace", "name", "created (UTC)", "status"):
        table.add_column(column)
    for k in keys:
        status = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        table.add_row(k.prefix, k.workspace, k.name, f"{k.created_at:%Y-%m-%d %H:%M}", status)
    console.print(table)


def revoke_command(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (pp_xxxxxxxx) or the key.")],
    db: DbOption = None,
) -> None:
    """Revoke a key: requests with it get a 401 from then on."""
    from metrics.db import connect
    from web.auth import KeyNotFound, revoke_key

    engine = connect(db)
    try:
        with engine.begin() as conn:
            info = revoke_key(conn, prefix)
    except KeyNotFound as exc:
        raise UserError(str(exc)) from None
    console.print(f"Revoked {info.prefix} (workspace {info.workspace!r}, {info.name})")
