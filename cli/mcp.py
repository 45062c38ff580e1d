"""``portalpulse mcp``: the metrics tools over MCP on stdin/stdout, for a local MCP client."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_command)


def mcp_command(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date or instant that plays 'now' for every call."),
    ] = None,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Serve the read-only metrics tools over MCP (stdio) for one workspace.

    Add it to an MCP client as the command ``portalpulse mcp --db URL --workspace NAME``;
    over HTTP, ``portalpulse serve`` answers at ``/mcp`` with an API key.
    """
    import anyio
    from mcp.server.stdio import stdio_server

    from metrics.db import DatabaseError, connect, workspace_id
    from metrics.scope import ScopeError, parse_as_of
    from web.mcp import build_server

    try:
        parse_as_of(as_of)
    except ScopeError as exc:
        raise UserError(f"--as-of: {exc}") from None
    engine = connect(db)
    with engine.connect() as conn:
        try:
            ws = workspace_id(conn, workspace, create=False)
        except (LookupError, DatabaseError) as exc:
            raise UserError(str(exc)) from None
    server = build_server(engine, lambda _ctx: ws, as_of=as_of)

    async def serve() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)
