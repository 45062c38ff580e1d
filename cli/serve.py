"""``portalpulse serve``: the HTTP API (and the dashboard) with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    host: Annotated[
        str, typer.Option(help="Interface to bind; a non-loopback one requires API keys.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=0, max=65535)] = 8000,
    require_keys: Annotated[
        bool,
        typer.Option(
            "--require-keys", help="Require an API key on every /api request, even on localhost."
        ),
    ] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Serve the API (OpenAPI docs at /docs) for every workspace of the database.

    Requests are scoped by their API key (`portalpulse keys create`). Bound to
    localhost without --require-keys, local requests without a key are served
    too, in --workspace.
    """
    import uvicorn

    from server import Config, create_app
    from web.auth import auth_mode, is_loopback

    mode = auth_mode(host, require_keys)
    # digest links (the scheduler's emails, /digests/preview) point where this server listens
    os.environ.setdefault("PORTALPULSE_BASE_URL", listen_url(host, port))
    app = create_app(
        Config(database_url=db, workspace=workspace, host=host, require_keys=require_keys)
    )
    app.state.runtime.warm_in_background()  # the first answer needs no model load
    shown = f"[{host}]" if ":" in host else host
    console.print(f"PortalPulse on http://{shown}:{port}  (API docs at /docs)", highlight=False)
    if mode == "open":
        console.print(
            f"Running [bold]without API keys[/] on localhost: local requests without a key "
            f"use workspace {workspace!r}. Use --require-keys to turn this off.",
            highlight=False,
        )
    else:
        why = "asked for with --require-keys" if is_loopback(host) else f"{host} is not loopback"
        console.print(
            f"API keys required ({why}): send 'Authorization: Bearer <key>'; "
            "create one with `portalpulse keys create --workspace NAME`.",
            highlight=False,
        )
        _warn_if_no_keys(app)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    except OSError as exc:  # port in use, address not available
        raise UserError(f"cannot listen on {host}:{port}: {exc}") from exc


def listen_url(host: str, port: int) -> str:
    """The address clients reach a server bound to ``host``:``port`` at."""
    if host in ("0.0.0.0", "::", ""):  # every interface: the machine's name
        import socket

        host = socket.getfqdn()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _warn_if_no_keys(app: object) -> None:
    from web.auth import list_keys

    with app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        live = [k for k in list_keys(conn) if k.revoked_at is None]
    if not live:
        console.print("[yellow]No API key exists yet: every /api request will get a 401.[/]")
