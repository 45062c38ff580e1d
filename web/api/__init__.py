"""The HTTP API's routers; :func:`include` mounts them all on an app."""

from __future__ import annotations

from fastapi import FastAPI

from web.api import assistant, errors, ingest, metrics, ops, semantic, upload
from web.api.limits import BodyLimit
from web.api.nul import RefuseNul


def include(app: FastAPI) -> None:
    """Error handlers, the body size limit, NUL refusal and every API router."""
    errors.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(RefuseNul)
    for module in (ops, metrics, semantic, assistant, ingest, upload):
        app.include_router(module.router)
