"""Batched writes: upserts keyed on ``(workspace_id, id)`` for SQLite and PostgreSQL.

Small tables go through SQLAlchemy's ``INSERT … ON CONFLICT DO UPDATE``. Events,
the one large table, go through a temporary staging table filled with the
driver's fastest path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) and
are then upserted set-wise; the staging table also tells where updated events
used to be, so their old session keys are recomputed too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite

from metrics.ingest.sessions import SessionKey

EVENT_COLUMNS = (
    "event_id",
    "user_id",
    "project_id",
    "occurred_at",
    "type",
    "action",
    "room_id",
    "resource_id",
    "device",
)
_STAGING = "pp_staging_events"


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, object]]) -> None:
    """Insert ``rows`` into ``table``, updating rows whose primary key exists."""
    if not rows:
        return
    key = [c.name for c in table.primary_key.columns]
    unique = {tuple(row[k] for k in key): row for row in rows}  # last one wins
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=key,
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key},
    )
    conn.execute(stmt, list(unique.values()))


class EventWriter:
    """Upserts batches of event tuples (in :data:`EVENT_COLUMNS` order) for one workspace."""

    def __init__(self, conn: Connection, workspace_id: int) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.postgres = conn.dialect.name == "postgresql"
        columns = ", ".join(
            f"{name} BIGINT" if name == "occurred_at" else f"{name} TEXT" for name in EVENT_COLUMNS
        )
        suffix = " ON COMMIT DROP" if self.postgres else ""
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ({columns}){suffix}")
        conn.exec_driver_sql(f"DELETE FROM {_STAGING}")
        names = ", ".join(EVENT_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in EVENT_COLUMNS[1:])
        self._upsert = text(
            f"INSERT INTO events (workspace_id, {names}) SELECT :ws, {names} FROM {_STAGING}"
            f" WHERE true ON CONFLICT (workspace_id, event_id) DO UPDATE SET {updates}"
        )
        self._old_positions = text(
            f"SELECT e.user_id, e.project_id, MIN(e.occurred_at) FROM {_STAGING} s"
            " JOIN events e ON e.workspace_id = :ws AND e.event_id = s.event_id"
            " GROUP BY e.user_id, e.project_id"
        )

    def write(
        self, batch: Sequence[tuple[object, ...]], *, find_old: bool
    ) -> list[tuple[SessionKey, int]]:
        """Upsert one batch; with ``find_old``, return the keys and times events move from."""
        unique = list({row[0]: row for row in batch}.values())
        self._stage(unique)
        moved: list[tuple[SessionKey, int]] = []
        if find_old:
            params = {"ws": self.workspace_id}
            for user, project, earliest in self.conn.execute(self._old_positions, params):
                moved.append(((user, project), earliest))
        self.conn.execute(self._upsert, {"ws": self.workspace_id})
        self.conn.exec_driver_sql(f"DELETE FROM {_STAGING}")
        return moved

    def _stage(self, rows: Sequence[tuple[object, ...]]) -> None:
        cursor = self.conn.connection.cursor()
        try:
            if self.postgres:
                with cursor.copy(f"COPY {_STAGING} ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            else:
                marks = ", ".join("?" for _ in EVENT_COLUMNS)
                cursor.executemany(f"INSERT INTO {_STAGING} VALUES ({marks})", rows)
        finally:
            cursor.close()
