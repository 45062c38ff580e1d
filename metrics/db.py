"""Database connection, schema migrations and workspaces.

The database is chosen by a SQLAlchemy URL: ``--db URL`` on the CLI, else the
``PORTALPULSE_DB`` environment variable, else ``sqlite:///portalpulse.db`` in
the working folder. The schema is owned by Alembic (``metrics/migrations``);
:func:`connect` upgrades it to the latest revision on first use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from metrics.models import Workspace

DEFAULT_URL = "sqlite:///portalpulse.db"
DEFAULT_WORKSPACE = "default"
MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_HEAD = "0007"
"""The newest migration. :func:`migrate` skips loading Alembic (about 0.15 s of every
command) when the database is already there; a test keeps this equal to Alembic's head."""


BUSY_TIMEOUT_S = 10.0
"""How long a SQLite write waits for another writer (``PORTALPULSE_SQLITE_BUSY_TIMEOUT_S``)."""
WRITE = "portalpulse_write"
"""Execution option: this connection's transactions will write (SQLite: ``BEGIN IMMEDIATE``)."""
_PENDING = "portalpulse_begin_pending"
_WRITES = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE(?!\s+TEMP)|DROP|ALTER)\b", re.IGNORECASE
)
"""Statements that write the database file (a TEMP table lives elsewhere: no lock)."""


class DatabaseError(Exception):
    """A database URL or connection problem the user can fix."""


def database_url(url: str | None = None) -> str:
    """The URL to use: the given one, else ``PORTALPULSE_DB``, else the SQLite default."""
    return url or os.environ.get("PORTALPULSE_DB") or DEFAULT_URL


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` with SQLite tuned for a single-writer analytics file."""
    resolved = database_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {resolved!r}: {exc}") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": busy_timeout_s()})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            event.listen(engine, "before_cursor_execute", _sqlite_lazy_begin)
            event.listen(engine, "commit", _sqlite_end)
            event.listen(engine, "rollback", _sqlite_end)
            event.listen(engine, "checkin", _sqlite_checkin)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"cannot use database URL {parsed.render_as_string()!r}: {exc} "
            "(expected e.g. sqlite:///portalpulse.db or postgresql+psycopg://user@host/db)"
        ) from exc


def busy_timeout_s() -> float:
    """Seconds a SQLite writer waits for the lock before "database is locked"."""
    raw = os.environ.get("PORTALPULSE_SQLITE_BUSY_TIMEOUT_S", "")
    try:
        value = float(raw) if raw.strip() else BUSY_TIMEOUT_S
    except ValueError:
        raise DatabaseError(
            f"PORTALPULSE_SQLITE_BUSY_TIMEOUT_S must be a number of seconds, not {raw!r}"
        ) from None
    if not 0 <= value <= 3600:
        raise DatabaseError(f"PORTALPULSE_SQLITE_BUSY_TIMEOUT_S must be 0 to 3600, not {raw!r}")
    return value


def writing(conn: Connection) -> Connection:
    """Mark ``conn`` as a writer before its transaction begins (returns it).

    On SQLite the transaction then starts with ``BEGIN IMMEDIATE``: it waits (up to the
    busy timeout) for the write lock *before* reading anything. A transaction that read
    first cannot wait when it comes to write — SQLite fails it at once with "database
    is locked" — so every transaction that reads and then writes must be marked.
    """
    return conn.execution_options(**{WRITE: True})


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` for a transaction that writes: see :func:`writing`."""
    with engine.connect() as conn:
        writing(conn)
        with conn.begin():
            yield conn


# pysqlite's own transaction handling (BEGIN before INSERT/UPDATE/DELETE only) leaves
# DDL such as DROP INDEX outside the transaction, committed on its own, and starts
# transactions deferred. So the driver is put in autocommit mode and the transaction
# is begun here: BEGIN IMMEDIATE for marked writers, otherwise at the first statement
# — IMMEDIATE when that statement writes, a plain (deferred) BEGIN when it reads.


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(WRITE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.info[_PENDING] = True


def _sqlite_lazy_begin(
    conn: Connection, cursor: Any, statement: str, *_: object, **__: object
) -> None:
    if conn.info.pop(_PENDING, False):
        cursor.execute("BEGIN IMMEDIATE" if _WRITES.match(statement) else "BEGIN")


def _sqlite_end(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


def _sqlite_checkin(_dbapi_connection: object, record: Any) -> None:
    record.info.pop(_PENDING, None)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-200000")  # 200 MB of pages; sorts spill to temp files
    cursor.close()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the latest Alembic revision."""
    if schema_version(engine) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with write_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_version(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def connect(url: str | None = None) -> Engine:
    """An engine on an up-to-date schema; raises :class:`DatabaseError` if unreachable."""
    engine = make_engine(url)
    try:
        migrate(engine)
    except DatabaseError:
        raise
    except Exception as exc:  # driver errors differ per backend
        raise DatabaseError(f"cannot open database {engine.url!r}: {exc}") from exc
    return engine


def workspace_id(conn: Connection, slug: str = DEFAULT_WORKSPACE, *, create: bool = True) -> int:
    """The id of workspace ``slug``, created on first use when ``create`` is true."""
    found = conn.scalar(select(Workspace.id).where(Workspace.slug == slug))
    if found is not None:
        return found
    if not create:
        raise DatabaseError(
            f"unknown workspace {slug!r}: nothing has been imported into it yet "
            "(try `portalpulse demo` or `portalpulse import DIR`)"
        )
    conn.execute(insert(Workspace).values(slug=slug, name=slug, created_at=datetime.now(UTC)))
    return conn.scalar(select(Workspace.id).where(Workspace.slug == slug))


def refresh_statistics(engine: Engine) -> None:
    """Update the query planner's statistics after a large write (cheap, sampled)."""
    with write_transaction(engine) as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        else:  # every table: without statistics PostgreSQL plans small tables as 1-row ones
            conn.exec_driver_sql("ANALYZE")
