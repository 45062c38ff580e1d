"""Shared fixtures: a database on every configured backend, and CSV folders.

SQLite always runs (a fresh file per test). PostgreSQL runs when
``PORTALPULSE_TEST_PG_URL`` is set (``.ci/run`` sets it): the whole session
works in a throwaway schema, and each test in a workspace of its own, which is
exactly the isolation the product promises its tenants.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from metrics.db import make_engine, migrate

PG_URL = os.environ.get("PORTALPULSE_TEST_PG_URL")
_counter = itertools.count()


@dataclass
class Db:
    """An engine on a migrated schema, and the workspace a test works in."""

    engine: Engine
    workspace: str
    backend: str

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set PORTALPULSE_TEST_PG_URL)")
    schema = f"pp_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}")
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _sqlite(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    migrate(engine)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A database per backend; each test gets its own workspace."""
    workspace = f"ws{next(_counter)}_{uuid.uuid4().hex[:6]}"
    if request.param == "sqlite":
        engine = _sqlite(tmp_path)
        yield Db(engine, workspace, "sqlite")
        engine.dispose()
    else:
        yield Db(request.getfixturevalue("pg_engine"), workspace, "postgres")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    """SQLite only, for tests about the embedded default or the CLI."""
    engine = _sqlite(tmp_path)
    yield Db(engine, "default", "sqlite")
    engine.dispose()


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    """Write ``{file name: CSV text}`` into ``folder`` (dedented, stripped)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        lines = [line.strip() for line in content.strip().splitlines()]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
