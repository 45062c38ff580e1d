"""Request dependencies shared by every router (``Annotated[..., Depends()]``).

``TenantDep`` is the one way a route learns whose data it may read: every
query a route runs is scoped to ``tenant.id``. Routers never take a workspace
from the body, the query string or a question — only from the API key (or,
in open mode on localhost, the server's default workspace). See
:mod:`web.auth` for the two modes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, text

from web.auth import AuthMode, InvalidKey, is_forwarded, is_loopback, verify_key

log = logging.getLogger(__name__)

WRITE_LOCK = {"ns": 0x5050}
"""First key of PostgreSQL advisory locks taken by writes ("PP"); the second is the workspace."""


@dataclass
class Runtime:
    """What the app holds for its life: the engine, the auth mode and the assistant."""

    engine: Engine
    workspace: str
    """The default workspace: the tenant of keyless requests in open mode."""
    workspace_id: int
    mode: AuthMode = "keys"
    _assistant: Any = None
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _assistant_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def writing(self, workspace_id: int) -> Iterator[None]:
        """One import or ingest transaction at a time per workspace; wrap each write in it.

        SQLite has one writer: the requests of this process take turns here, and a
        writer of another process (a CLI import, a second server) is waited for by
        ``BEGIN IMMEDIATE`` up to the busy timeout (:func:`metrics.db.writing`), after
        which the request is a 503 with ``Retry-After``. On PostgreSQL two concurrent batches
        for the same user could each recompute that user's sessions without the
        other's events; a session-level advisory lock on the workspace, held on a
        connection of its own, makes writers of one workspace (in any server
        process) take turns, while other workspaces write in parallel.
        """
        if self.engine.dialect.name != "postgresql":
            with self._write_lock:
                yield
            return
        with self.engine.connect() as lock:
            lock.execute(
                text("SELECT pg_advisory_lock(CAST(:ns AS integer), CAST(:ws AS integer))"),
                WRITE_LOCK | {"ws": workspace_id},
            )
            lock.commit()
            try:
                yield
            finally:
                lock.execute(
                    text("SELECT pg_advisory_unlock(CAST(:ns AS integer), CAST(:ws AS integer))"),
                    WRITE_LOCK | {"ws": workspace_id},
                )
                lock.commit()

    @property
    def assistant(self) -> Any:
        if self._assistant is None:  # loads the embedding model: only when first needed
            with self._assistant_lock:  # one Assistant (and one vector store) per app
                if self._assistant is None:
                    from assistant.service import Assistant

                    self._assistant = Assistant(self.engine)
        return self._assistant

    def warm(self) -> None:
        """Load what the first answer needs: the assistant's modules, the embedding model,
        the example index and the default workspace's entity names. ``portalpulse serve``
        runs it in a background thread at start-up, so the page's first analysis does
        not wait for it; a request that comes earlier waits on the same lock."""
        from assistant.embedding import warm_up

        started = time.perf_counter()
        try:
            assistant = self.assistant
            warm_up()
            sync = getattr(assistant, "_sync_entities", None)  # entity names of the workspace
            if sync is not None:
                sync(self.workspace_id)
        except Exception:  # a failed warm-up only means the first request loads it
            log.exception("warming up the assistant failed")
            return
        log.info("assistant ready in %.1f s", time.perf_counter() - started)

    def warm_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.warm, name="assistant-warm-up", daemon=True)
        thread.start()
        return thread

    @property
    def assistant_loaded(self) -> bool:
        return self._assistant is not None


@dataclass(frozen=True)
class Tenant:
    """The workspace a request works in."""

    id: int
    name: str
    key_prefix: str | None = None
    """The key that opened it; None for a keyless request in open mode."""


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(runtime)]

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <key>` with a key from `portalpulse keys create`.",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same key in an `X-API-Key` header."
)


def unauthorized(message: str) -> HTTPException:
    """401 with the challenge the page answers by asking for a key."""
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def tenant(
    request: Request,
    rt: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> Tenant:
    """The request's workspace: the API key's, else (open mode, local client) the default."""
    key = bearer.credentials if bearer is not None else header_key
    if key is None and request.headers.get("authorization"):
        raise unauthorized("Authorization header must be 'Bearer <API key>'")
    if key:
        try:
            with rt.engine.connect() as conn:
                owner = verify_key(conn, key)
        except InvalidKey as exc:
            raise unauthorized(str(exc)) from None
        return Tenant(owner.workspace_id, owner.workspace, owner.prefix)
    if rt.mode != "open":
        raise unauthorized(
            "API key required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "(create one with `portalpulse keys create --workspace NAME`)"
        )
    client = request.client.host if request.client else None
    forwarded = is_forwarded(request.headers.keys())
    if forwarded or not is_loopback(client):
        raise unauthorized(
            "this server runs without keys for local clients only; "
            "send an API key from anywhere else"
        )
    return Tenant(rt.workspace_id, rt.workspace)


TenantDep = Annotated[Tenant, Depends(tenant)]
