"""A loopback incoming-webhook receiver for the digest tests: a real HTTP server on
127.0.0.1 and a free port, in its own thread, that records every JSON body posted to it.

``script[path]`` is a list of replies for the next posts to ``path``, each
``(status, body, delay_s)``; when it runs out the receiver answers 200 ``ok``
(what Slack answers). A delayed reply is recorded first, then answered late,
as a receiver that posted the message but whose answer was lost would behave.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Post:
    path: str
    body: dict[str, Any]
    content_type: str
    status: int
    """What the receiver answered (a delayed answer may have come too late)."""


@dataclass
class Receiver:
    posts: list[Post] = field(default_factory=list)
    script: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    replies = receiver.script.get(self.path) or []
                    status, text, delay = replies.pop(0) if replies else (200, "ok", 0.0)
                    receiver.posts.append(
                        Post(
                            self.path,
                            json.loads(raw.decode("utf-8")),
                            self.headers.get("Content-Type", ""),
                            status,
                        )
                    )
                if delay:
                    time.sleep(delay)
                data = text.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str, *, accepted: bool = True) -> list[Post]:
        """Posts to ``path`` (only those answered 2xx when ``accepted``)."""
        return [p for p in self.posts if p.path == path and (not accepted or 200 <= p.status < 300)]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
