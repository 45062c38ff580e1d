"""The drivers' fastest write path: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Append tuples to ``table`` with the driver's bulk path (no type processing)."""
    if not rows:
        return
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    finally:
        cursor.close()
