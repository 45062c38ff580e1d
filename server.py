"""The PortalPulse HTTP API (FastAPI). ``portalpulse serve`` runs :func:`create_app` with uvicorn.

One server serves every workspace of its database: a request's workspace is
the one its API key opens (``web/deps.py``), and nothing a client sends —
body, query or question text — can name another one. Without keys the server
runs only in *open* mode: bound to a loopback host, for local clients, in the
default workspace (``web/auth.py``).

* ``GET /api/metrics/{section}`` — any section of SPEC §4, scope as query parameters
* ``POST /api/ask``, ``POST /api/ask/stream`` (server-sent events), ``POST /api/feedback``
* ``GET /api/conversations``, ``GET /api/conversations/{id}``
* ``POST /api/events``, ``POST /api/records/{entity}``, ``POST /api/import``
* ``GET /digests/preview``, ``/digests/unsubscribe`` — weekly digests (:mod:`web.digests`)
* ``GET /health``, ``GET /ready``; OpenAPI at ``/docs`` and ``/redoc`` (no CDN: :mod:`web.docs`)
* ``/mcp`` — the metrics tools over MCP, streamable HTTP, an API key always required
  (:mod:`web.mcp`)

Routers live in ``web/api/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Engine

from metrics.db import DEFAULT_WORKSPACE, connect, workspace_id, write_transaction
from web import api, docs
from web.auth import InvalidKey, auth_mode, verify_key
from web.deps import Runtime
from web.digests import digest_lifespan
from web.digests import router as digests_router
from web.mcp import http_app as mcp_app
from web.pages import install as install_pages

DESCRIPTION = """
Engagement analytics for customer and partner portals, with an assistant.

**Auth.** Send an API key as `Authorization: Bearer <key>` (or `X-API-Key: <key>`);
create one with `portalpulse keys create --workspace NAME`. The key decides the
workspace. A server bound to localhost without `--require-keys` also answers
local requests without a key, in its default workspace (`/health` says so).
A missing, unknown or revoked key is a 401 with `WWW-Authenticate: Bearer`.

**Errors.** Every client mistake is a 4xx whose `detail` says what and where.
"""


@dataclass(frozen=True)
class Config:
    database_url: str | None = None
    workspace: str = DEFAULT_WORKSPACE
    """The default workspace: keyless local requests in open mode work in it."""
    host: str = "127.0.0.1"
    """The interface the server is bound to: open mode needs a loopback one."""
    require_keys: bool = False
    """Require a key even on localhost."""


def create_app(config: Config | None = None) -> FastAPI:
    """The application for one database (every workspace in it)."""
    config = config or Config()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with app.state.mcp.lifespan(), digest_lifespan(app):
            yield

    app = FastAPI(
        title="PortalPulse",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # web/docs.py serves /docs and /redoc from local files (no CDN)
        redoc_url=None,
    )
    engine = connect(config.database_url)
    with write_transaction(engine) as conn:
        ws = workspace_id(conn, config.workspace)
    app.state.runtime = Runtime(
        engine, config.workspace, ws, mode=auth_mode(config.host, config.require_keys)
    )
    api.include(app)
    install_pages(app)  # the dashboard page at /, its JSON helpers and /static
    app.include_router(digests_router)
    docs.install(app)
    app.state.mcp = mcp_app(engine, _key_checker(engine))
    app.mount("/mcp", app.state.mcp)
    return app


def _key_checker(engine: Engine) -> Callable[[str], int]:
    """The workspace id an API key opens (``LookupError`` saying why not): for ``/mcp``,
    which needs a key even where ``/api`` runs open for local clients."""

    def check(key: str) -> int:
        with engine.connect() as conn:
            try:
                return verify_key(conn, key).workspace_id
            except InvalidKey as exc:
                raise LookupError(str(exc)) from None

    return check
