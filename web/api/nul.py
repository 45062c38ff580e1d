"""NUL characters are refused at the door, with where they were.

PostgreSQL cannot hold ``\\x00`` in text — not even as a query parameter — while
SQLite stores it, so a NUL that reached the database was a 500 on one backend and
data on the other. Query strings and path segments are checked here for every
route (422 naming the parameter); JSON bodies by :func:`check_body` in the routes
that take free text, and CSV cells and records by the import's row validator.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

MESSAGE = "contains a NUL character (\\x00), which cannot be stored"


class RefuseNul:
    """ASGI middleware: 422 for a NUL in the path or a query parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = _find(scope)
            if where is not None:
                await _reject(send, f"{where}: {MESSAGE}")
                return
        await self.app(scope, receive, send)


def _find(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return f"query parameter {unquote(name).replace(chr(0), '')!r}"
    return "query string"


def check_body(value: Any, where: str = "body") -> str | None:
    """Where in a parsed JSON body a string holds a NUL (``body.filters.owner``), or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = check_body(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = check_body(item, f"{where}[{index}]")
            if found:
                return found
    return None


async def _reject(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
