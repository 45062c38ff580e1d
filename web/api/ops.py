"""``/health`` (the process answers) and ``/ready`` (the database answers).

Both say how the server authenticates, so a person who started the embedded
demo sees that it runs without keys, and for which workspace. Neither needs a
key and neither names a workspace when keys are required.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from web.deps import Runtime, RuntimeDep

router = APIRouter(tags=["ops"])


def auth_summary(rt: Runtime) -> dict[str, Any]:
    """The auth mode in words (printed by ``portalpulse serve`` too)."""
    if rt.mode == "open":
        return {
            "auth": "open",
            "workspace": rt.workspace,
            "note": (
                f"running without API keys on localhost: local requests without a key "
                f"use workspace {rt.workspace!r}"
            ),
        }
    return {"auth": "keys", "note": "every /api request needs an API key"}


@router.get("/health", summary="The process is up")
def health(rt: RuntimeDep) -> dict[str, Any]:
    """Always 200 while the process serves requests; says the auth mode."""
    return {"status": "ok", **auth_summary(rt)}


@router.get(
    "/ready",
    summary="The database answers",
    responses={503: {"description": "The database cannot be reached."}},
)
def ready(rt: RuntimeDep) -> JSONResponse:
    """200 when a query on the database succeeds, else 503 with the reason."""
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:  # the point of this endpoint is to say so
        return JSONResponse(
            {"status": "unavailable", "database": str(exc).splitlines()[0]}, status_code=503
        )
    return JSONResponse({"status": "ready", **auth_summary(rt)})
