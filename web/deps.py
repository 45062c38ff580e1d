"""Request dependencies shared by every router (``Annotated[..., Depends()]``).

``TenantDep`` is the one way a route learns whose data it may read: every
query a route runs is scoped to ``tenant.id``. Routers never take a workspace
from the body, the query string or a question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine


@dataclass
class Runtime:
    """What the app holds for its life: the engine, the default workspace and the assistant."""

    engine: Engine
    workspace: str
    workspace_id: int
    _assistant: Any = None

    @property
    def assistant(self) -> Any:
        if self._assistant is None:  # loads the embedding model: only when first needed
            from assistant.service import Assistant

            self._assistant = Assistant(self.engine)
        return self._assistant


@dataclass(frozen=True)
class Tenant:
    """The workspace a request works in."""

    id: int
    name: str


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def tenant(rt: RuntimeDep) -> Tenant:
    """The request's workspace (today: the one the server was started for)."""
    return Tenant(rt.workspace_id, rt.workspace)


TenantDep = Annotated[Tenant, Depends(tenant)]
