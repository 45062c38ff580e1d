"""Request body size limits, checked before a body is read.

JSON bodies are parsed in memory, so they get a tight limit (a full batch of
:data:`~web.api.ingest.MAX_BATCH` events is about 1.5 MB); CSV uploads are
spooled to disk and get a large one. A body over its limit is a 413 that says
the limit. Bodies sent without ``Content-Length`` (chunked) are counted as they
arrive and cut off at the same limits.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_LIMIT = 16 * 2**20
UPLOAD_LIMIT = 1 * 2**30
UPLOAD_PATHS = ("/api/import",)


class TooLarge(Exception):
    pass


def _limit(path: str) -> int:
    return UPLOAD_LIMIT if path in UPLOAD_PATHS else JSON_LIMIT


class BodyLimit:
    """ASGI middleware: 413 for a body over the path's limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, limit)
            return
        received = 0
        exceeded = replaced = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise TooLarge
            return message

        async def replacing_send(message: Message) -> None:
            # The app turns the receive error into a 400 ("error parsing the body"):
            # send the 413 that says why instead, and drop the app's response.
            nonlocal replaced
            if not exceeded:
                await send(message)
            elif not replaced:
                replaced = True
                await _reject(send, limit)

        try:
            await self.app(scope, counting_receive, replacing_send)
        except TooLarge:
            if not replaced:
                await _reject(send, limit)


async def _reject(send: Send, limit: int) -> None:
    body = json.dumps(
        {"detail": f"request body is larger than the limit of {limit // 2**20:,} MiB"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
