"""What a workspace holds: row counts per table and the span of its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from metrics.db import workspace_id
from metrics.models import ENTITY_TABLES, DailyActivity, Event, Session


@dataclass(frozen=True)
class WorkspaceStatus:
    rows: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None


def workspace_status(conn: Connection, workspace: str) -> WorkspaceStatus:
    """Counts per table for ``workspace`` (which must exist)."""
    ws = workspace_id(conn, workspace, create=False)
    rows = {}
    for model in (*ENTITY_TABLES, Session, DailyActivity):
        table = model.__table__
        rows[table.name] = conn.scalar(
            select(func.count()).select_from(table).where(table.c.workspace_id == ws)
        )
    first, last = conn.execute(
        select(func.min(Event.occurred_at), func.max(Event.occurred_at)).where(
            Event.workspace_id == ws
        )
    ).one()
    return WorkspaceStatus(rows, first, last)
