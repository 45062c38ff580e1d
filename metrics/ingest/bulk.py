"""Batched writes for SQLite and PostgreSQL.

* :func:`upsert` — ``INSERT … ON CONFLICT DO UPDATE`` keyed on the primary key,
  for the small tables.
* :class:`EventWriter` — upserts of events. When the workspace already holds
  events, batches go through a staging table, which also tells where updated
  events used to be so their old session keys are recomputed. A load that is
  large next to the table (:func:`bulk_mode`) drops the secondary event
  indexes first and rebuilds them once at the end, which is several times
  cheaper than maintaining them row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite

from metrics.ingest.driver import insert_rows
from metrics.ingest.sessions import SessionKey
from metrics.models import Event

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
BULK_MIN_ROWS = 200_000
"""Below this many incoming events, indexes are always maintained row by row."""
BULK_MIN_DERIVED = 50_000
"""The same for sessions and day counts written at once."""
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


def bulk_mode(
    conn: Connection, expected_rows: int, table: str = "events", minimum: int | None = None
) -> bool:
    """Whether a load of ``expected_rows`` into ``table`` should rebuild its indexes instead.

    True when the load is large in itself (``minimum``, default :data:`BULK_MIN_ROWS`)
    and at least as large as the table.
    """
    if expected_rows < (BULK_MIN_ROWS if minimum is None else minimum):
        return False
    if conn.dialect.name == "sqlite":
        stored = conn.exec_driver_sql(f"SELECT MAX(rowid) FROM {table}").scalar()
    else:  # the planner's estimate: counting a large table would cost more than it saves
        stored = conn.exec_driver_sql(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %(t)s::regclass",
            {"t": table},
        ).scalar()
    return expected_rows >= (stored or 0)


def drop_indexes(conn: Connection, table: Table) -> None:
    """Drop ``table``'s secondary indexes before a large load (unique constraints stay,
    so conflicts still conflict).

    Runs inside the import's transaction (both backends have transactional DDL; on
    SQLite :mod:`metrics.db` makes sure a transaction is open), so a rejected or killed
    import leaves every index in place. ``checkfirst`` repairs a database that lost an
    index to an older version: the load builds it again at the end.
    """
    for index in table.indexes:
        index.drop(conn, checkfirst=True)


def create_indexes(conn: Connection, table: Table) -> None:
    """Build ``table``'s secondary indexes once, after a large load: several times
    cheaper than maintaining them row by row."""
    for index in table.indexes:
        index.create(conn, checkfirst=True)


@contextmanager
def indexes_rebuilt(conn: Connection, table: Table, *, when: bool) -> Iterator[None]:
    """Drop ``table``'s secondary indexes for the block's writes and build them after it."""
    if not when:
        yield
        return
    drop_indexes(conn, table)
    yield
    create_indexes(conn, table)


class EventWriter:
    """Upserts batches of events (value lists in :data:`EVENT_COLUMNS` order) for one workspace."""

    def __init__(self, conn: Connection, workspace_id: int, *, bulk: bool = False) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.postgres = conn.dialect.name == "postgresql"
        self.bulk = bulk
        if bulk:
            drop_indexes(conn, Event.__table__)
        names = ", ".join(EVENT_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in EVENT_COLUMNS[1:])
        conflict = f"ON CONFLICT (workspace_id, event_id) DO UPDATE SET {updates}"
        # The workspace id is an int we own, written as a literal so that rows
        # go to executemany as they come, without a tuple rebuilt per row.
        self._direct = (
            f"INSERT INTO events (workspace_id, {names}) "
            f"VALUES ({int(workspace_id)}, {', '.join('?' for _ in EVENT_COLUMNS)}) {conflict}"
        )
        self._from_staging = text(
            f"INSERT INTO events (workspace_id, {names}) SELECT :ws, {names} FROM {_STAGING}"
            f" WHERE true {conflict}"
        )
        # Staging must drive the join: SQLite has no statistics on it and could
        # otherwise scan every stored event once per staged row. CROSS JOIN is
        # SQLite's documented way to fix the loop order.
        join = "JOIN" if self.postgres else "CROSS JOIN"
        self._old_positions = text(
            f"SELECT e.user_id, e.project_id, MIN(e.occurred_at) FROM {_STAGING} s"
            f" {join} events e ON e.workspace_id = :ws AND e.event_id = s.event_id"
            " GROUP BY e.user_id, e.project_id"
        )
        self._staging_ready = False

    def write(
        self, batch: Iterable[Sequence[object]], *, find_old: bool
    ) -> list[tuple[SessionKey, int]]:
        """Upsert one batch; with ``find_old``, return the keys and times events move from.

        Rows are read once, so ``batch`` may be any iterable (e.g. a lazy ``zip``).
        """
        if not find_old and not self.postgres:
            cursor = self.conn.connection.cursor()
            try:
                cursor.executemany(self._direct, batch)
            finally:
                cursor.close()
            return []
        self._ensure_staging()
        unique = list({row[0]: row for row in batch}.values())  # one row per id per statement
        insert_rows(self.conn, _STAGING, EVENT_COLUMNS, unique)
        moved: list[tuple[SessionKey, int]] = []
        if find_old:
            params = {"ws": self.workspace_id}
            for user, project, earliest in self.conn.execute(self._old_positions, params):
                moved.append(((user, project), earliest))
        self.conn.execute(self._from_staging, {"ws": self.workspace_id})
        self.conn.exec_driver_sql(f"DELETE FROM {_STAGING}")
        return moved

    def close(self) -> None:
        """Rebuild the indexes dropped for a bulk load."""
        if self.bulk:
            create_indexes(self.conn, Event.__table__)
            self.bulk = False

    def _ensure_staging(self) -> None:
        if self._staging_ready:
            return
        columns = ", ".join(
            f"{name} BIGINT" if name == "occurred_at" else f"{name} TEXT" for name in EVENT_COLUMNS
        )
        suffix = " ON COMMIT DROP" if self.postgres else ""
        self.conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ({columns}){suffix}"
        )
        self.conn.exec_driver_sql(f"DELETE FROM {_STAGING}")
        self._staging_ready = True
