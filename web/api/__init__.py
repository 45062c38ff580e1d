"""The HTTP API's routers; :func:`include` mounts them all on an app."""

from __future__ import annotations

from fastapi import FastAPI

from web.api import assistant, errors, ingest, metrics, ops, semantic, upload
from web.api.limits import BodyLimit


def include(app: FastAPI) -> None:
    """Error handlers, the body size limit and every API router."""
    errors.install(app)
    app.add_middleware(BodyLimit)
    for module in (ops, metrics, semantic, assistant, ingest, upload):
        app.include_router(module.router)
