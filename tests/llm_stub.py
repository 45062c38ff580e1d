"""A scripted OpenAI-compatible ``/v1/chat/completions`` server for tests.

It listens on 127.0.0.1 and a free port, in a background thread, and answers each
request with the next scripted reply:

* :class:`Completion` -- an assistant message (text and/or tool calls, with usage);
  rendered as JSON, or as SSE chunks when the request has ``"stream": true``
  (with a usage chunk when ``stream_options.include_usage`` is set);
* :class:`Status` -- an HTTP error status (429, 500, ...) with optional headers;
* any reply can be delayed by ``delay_s`` (to provoke client timeouts).

Every request is recorded (arrival time, path, headers, JSON body). When the
script runs out, the stub answers 500 with ``x-should-retry: false`` so a test
fails fast instead of hanging.

Usage::

    with LLMStub() as stub:
        stub.enqueue(Completion(tool_calls=[tool_call("lookup_number", {"name": "a"})]),
                     Completion(content="It is 1."))
        model = ChatOpenAI(base_url=stub.base_url, api_key="x", model="stub")
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


def tool_call(name: str, arguments: dict[str, Any] | str, id: str | None = None) -> dict[str, Any]:
    """One scripted tool call; ``arguments`` as a string is sent verbatim (may be bad JSON)."""
    return {"id": id or f"call_stub_{next(_ids)}", "name": name, "arguments": arguments}


@dataclass
class Completion:
    """A successful assistant reply."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | None = field(
        default_factory=lambda: {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    )
    delay_s: float = 0.0
    finish_reason: str | None = None


@dataclass
class Status:
    """An HTTP error reply."""

    code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    delay_s: float = 0.0


Reply = Completion | Status


@dataclass
class RecordedRequest:
    """One request as the stub saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class LLMStub:
    """The scripted server; use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        """Create a stopped stub with an empty script."""
        self.script: queue.Queue[Reply] = queue.Queue()
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> LLMStub:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LLMStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The ``base_url`` for an OpenAI client (ends in ``/v1``)."""
        assert self._server is not None, "stub not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the script, answered in order."""
        for reply in replies:
            self.script.put(reply)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of every request so far."""
        return [r.body for r in self.requests]

    def gaps(self) -> list[float]:
        """Seconds between consecutive request arrivals."""
        times = [r.at for r in self.requests]
        return [b - a for a, b in itertools.pairwise(times)]


class _Handler(BaseHTTPRequestHandler):
    owner: LLMStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        self.owner.requests.append(
            RecordedRequest(time.monotonic(), self.path, dict(self.headers), body)
        )
        try:
            reply = self.owner.script.get_nowait()
        except queue.Empty:
            reply = Status(
                500,
                headers={"x-should-retry": "false"},
                body={"error": {"message": "llm stub: script exhausted", "type": "stub"}},
            )
        if reply.delay_s:
            time.sleep(reply.delay_s)
        try:
            if isinstance(reply, Status):
                self._send_status(reply)
            elif body.get("stream"):
                self._send_sse(reply, body)
            else:
                self._send_json(200, _completion_json(reply, body))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to do

    def _send_json(self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_status(self, reply: Status) -> None:
        body = reply.body or {
            "error": {"message": f"stub status {reply.code}", "type": "stub_error", "code": None}
        }
        self._send_json(reply.code, body, reply.headers)

    def _send_sse(self, reply: Completion, request: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        for chunk in _sse_chunks(reply, request, include_usage):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def _arguments_text(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _finish_reason(reply: Completion) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _completion_json(reply: Completion, request: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": _arguments_text(call["arguments"])},
            }
            for call in reply.tool_calls
        ]
    payload: dict[str, Any] = {
        "id": f"chatcmpl-stub-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(reply),
                "logprobs": None,
            }
        ],
    }
    if reply.usage is not None:
        payload["usage"] = reply.usage
    return payload


def _sse_chunks(
    reply: Completion, request: dict[str, Any], include_usage: bool
) -> list[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-stub-{next(_ids)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", "stub"),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    if reply.content:
        words = reply.content.split(" ")
        for i, word in enumerate(words):
            chunks.append(chunk({"content": word if i == 0 else " " + word}))
    for index, call in enumerate(reply.tool_calls):
        text = _arguments_text(call["arguments"])
        head = {"index": index, "id": call["id"], "type": "function"}
        chunks.append(chunk({"tool_calls": [{**head, "function": {"name": call["name"]}}]}))
        middle = max(1, len(text) // 2)
        for piece in (text[:middle], text[middle:]):
            if piece:
                chunks.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
    chunks.append(chunk({}, _finish_reason(reply)))
    if include_usage and reply.usage is not None:
        chunks.append({**base, "choices": [], "usage": reply.usage})
    return chunks
