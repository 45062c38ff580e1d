"""The sections of SPEC §4, one module each, all of the form ``compute(conn, scope, **options)``.

Every number PortalPulse shows, says or emails comes from one of these
functions; the CLI, the tools, the web app, the digests and the evals call
them and never recompute a metric themselves.
"""

from __future__ import annotations

import inspect
from importlib import import_module
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import Connection

from metrics.scope import Scope

SECTIONS = {
    "kpis": "metrics.sections.kpis",
    "trends": "metrics.sections.trends",
    "projects": "metrics.sections.projects",
    "users": "metrics.sections.users",
    "summary": "metrics.sections.summary",
    "leaderboard": "metrics.sections.leaderboard",
    "content": "metrics.sections.content",
    "adoption": "metrics.sections.adoption",
    "risks": "metrics.sections.risks",
}


class Compute(Protocol):
    def __call__(self, conn: Connection, scope: Scope, **options: Any) -> BaseModel: ...


def section(name: str) -> Compute:
    """The ``compute`` function of section ``name``."""
    if name not in SECTIONS:
        raise KeyError(f"unknown section {name!r} (one of: {', '.join(SECTIONS)})")
    return import_module(SECTIONS[name]).compute


def split_options(name: str, requested: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The given (non-None) options section ``name`` takes, and the names of those it doesn't."""
    accepted = inspect.signature(section(name)).parameters
    given = {k: v for k, v in requested.items() if v is not None}
    return {k: v for k, v in given.items() if k in accepted}, [
        k for k in given if k not in accepted
    ]
