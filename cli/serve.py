"""``portalpulse serve``: the HTTP API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, WorkspaceOption, console


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Serve the API (and OpenAPI docs at /docs) for one workspace."""
    import uvicorn

    from server import Config, create_app

    app = create_app(Config(database_url=db, workspace=workspace))
    console.print(f"PortalPulse on http://{host}:{port} (workspace {workspace!r}; docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")
