"""What a tool runs against: the caller's workspace, as-of and fixed filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

MAX_ROWS = 25
"""Rows of a table a tool returns at most; totals say how many there were."""


@dataclass(frozen=True)
class ToolContext:
    """Fixed per request: nothing the model writes can change these."""

    engine: Engine
    workspace_id: int
    as_of: str | date | datetime | None = None
    """The request's as-of (None: now)."""
    fixed_filters: dict[str, Any] = field(default_factory=dict)
    """Filters the caller is restricted to (owner, accounts, …); tool arguments narrow
    within them and can never widen them."""
    store: Any = None
    """An :class:`assistant.vectorstore.VectorStore` for semantic name resolution, if any."""
    max_rows: int = MAX_ROWS
