"""The metrics tools over MCP (Model Context Protocol), for other agents.

    portalpulse mcp [--workspace NAME]     # stdio: one workspace, for a local MCP client
    portalpulse serve                      # also streamable HTTP at /mcp (API key required)

Built on the official ``mcp`` SDK's low-level :class:`mcp.server.lowlevel.Server`:
``tools/list`` gives every metric tool of :mod:`tools.catalog` with its JSON schema
(``query_metrics``'s generated from the semantic registry) and read-only
annotations; ``tools/call`` runs it through :func:`tools.run_tool` and answers with
the grounding envelope — ``{tool, arguments, as_of, window, filters, data, rows}``
as ``structuredContent``, the same JSON as text, ``isError`` for an envelope that
carries an ``error``. Nothing here writes.

Over HTTP every request needs an API key (``Authorization: Bearer <key>`` or
``X-API-Key``), whatever the server's auth mode: the key's workspace is the only
one its tools see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, Protocol

import anyio
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
    ToolAnnotations,
)
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from tools import ToolContext, build_tools, run_tool

__all__ = ["WORKSPACE_KEY", "McpHttpApp", "build_server", "http_app"]

INSTRUCTIONS = (
    "PortalPulse engagement analytics for customer and partner portals. Every tool is "
    "read-only and returns a JSON envelope: the tool and arguments, the as-of instant, the "
    "window, the filters applied, and the data. State only numbers found in `data`."
)
WORKSPACE_KEY = "portalpulse_workspace_id"
"""Where :class:`McpHttpApp` leaves the authenticated key's workspace in the ASGI scope state."""


class _RequestContext(Protocol):
    @property
    def request(self) -> Any: ...


READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WorkspaceOf = Callable[[_RequestContext], int]
"""The workspace a request may see (stdio: fixed; HTTP: the API key's)."""


def _tool_list(engine: Engine, workspace_id: int) -> list[Tool]:
    tools = []
    for tool in build_tools(ToolContext(engine, workspace_id)):
        schema = tool.args_schema
        input_schema = (
            schema.model_json_schema() if isinstance(schema, type) else dict(schema or {})
        )
        tools.append(
            Tool(
                name=tool.name,
                description=tool.description,
                input_schema=input_schema,
                annotations=READ_ONLY,
            )
        )
    return tools


def build_server(
    engine: Engine,
    workspace_of: WorkspaceOf,
    as_of: str | date | datetime | None = None,
) -> Server[Any]:
    """An MCP server over the metric tools; ``workspace_of`` decides each request's tenant."""

    async def list_tools(
        ctx: _RequestContext, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        ws = workspace_of(ctx)
        return ListToolsResult(tools=await anyio.to_thread.run_sync(_tool_list, engine, ws))

    async def call_tool(ctx: _RequestContext, params: CallToolRequestParams) -> CallToolResult:
        ws = workspace_of(ctx)
        context = ToolContext(engine, ws, as_of=as_of)
        names = [t.name for t in build_tools(context)]
        if params.name not in names:
            text = f"unknown tool {params.name!r}; the tools are: {', '.join(names)}"
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        arguments = dict(params.arguments or {})
        envelope = await anyio.to_thread.run_sync(run_tool, context, params.name, arguments)
        envelope = json.loads(json.dumps(envelope, default=str))  # dates as ISO text
        return CallToolResult(
            content=[TextContent(type="text", text=json.dumps(envelope, ensure_ascii=False))],
            structured_content=envelope,
            is_error="error" in envelope,
        )

    return Server(
        "portalpulse",
        version="0.1.0",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,  # type: ignore[arg-type]
        on_call_tool=call_tool,  # type: ignore[arg-type]
    )


def _scope_workspace(ctx: _RequestContext) -> int:
    request = ctx.request
    state = getattr(request, "scope", {}).get("state") or {}
    if WORKSPACE_KEY not in state:  # never reached through McpHttpApp
        raise PermissionError("no authenticated workspace for this MCP request")
    return int(state[WORKSPACE_KEY])


class KeyCheck(Protocol):
    """Returns the workspace id an API key opens, or raises ``LookupError`` saying why not."""

    def __call__(self, key: str) -> int: ...


class McpHttpApp:
    """ASGI app for ``/mcp``: an API key is required, its workspace is the request's."""

    def __init__(self, manager: StreamableHTTPSessionManager, check_key: KeyCheck) -> None:
        """Serve ``manager``'s streamable HTTP transport behind ``check_key``."""
        self.manager = manager
        self.check_key = check_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request without a valid key (401), else pass it on with its workspace."""
        if scope["type"] != "http":
            await self.manager.handle_request(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("x-api-key", "")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if not key and scheme.lower() == "bearer":
            key = token
        if not key.strip():
            await _unauthorized(send, "API key required: send 'Authorization: Bearer <key>'")
            return
        try:
            ws = await anyio.to_thread.run_sync(self.check_key, key)
        except LookupError as exc:
            await _unauthorized(send, str(exc))
            return
        scope = {**scope, "state": {**(scope.get("state") or {}), WORKSPACE_KEY: ws}}
        await self.manager.handle_request(scope, receive, send)

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        """The session manager's task group: enter it for as long as the app serves."""
        return self.manager.run()


async def _unauthorized(send: Send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def http_app(
    engine: Engine, check_key: KeyCheck, allowed_hosts: list[str] | None = None
) -> McpHttpApp:
    """The ``/mcp`` app (stateless streamable HTTP, JSON responses) for ``serve``.

    ``allowed_hosts`` (``host:port`` patterns) turns on the SDK's DNS-rebinding check;
    without it any Host header is accepted (the API key is what guards the data).
    """
    server = build_server(engine, _scope_workspace)
    security = (
        TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts)
        if allowed_hosts
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    manager = StreamableHTTPSessionManager(
        app=server, json_response=True, stateless=True, security_settings=security
    )
    return McpHttpApp(manager, check_key)
