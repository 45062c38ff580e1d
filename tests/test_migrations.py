"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text

import metrics.app_models  # noqa: F401  (the application tables share the metadata)
from metrics.db import MIGRATIONS, SCHEMA_HEAD, make_engine, schema_version, write_transaction
from metrics.models import Base
from tests.conftest import PG_URL, Db


def test_migrated_schema_matches_the_models(db: Db) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_schema_head_is_alembics_head(db: Db) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from metrics.db import MIGRATIONS, SCHEMA_HEAD, schema_version

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD
    assert schema_version(db.engine) == SCHEMA_HEAD


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no migration run yet) on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set PORTALPULSE_TEST_PG_URL)")
    schema = f"pp_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with write_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_0007_keeps_subscriptions_and_ledger_of_0006(bare_engine: Engine) -> None:
    """Subscriptions and sent digests made before webhooks existed stay email ones; the
    ledger then takes a webhook row for the same member and week."""
    from assistant.digest import store

    _upgrade(bare_engine, "0006")
    assert schema_version(bare_engine) == "0006"
    with write_transaction(bare_engine) as conn:
        conn.execute(text("INSERT INTO workspaces (slug, name, created_at) VALUES ('w', 'W', 0)"))
        ws = conn.execute(text("SELECT id FROM workspaces WHERE slug = 'w'")).scalar_one()
        conn.execute(
            text("INSERT INTO team_members VALUES (:ws, 'tm1', 'Ann', 'ann@co.example')"),
            {"ws": ws},
        )
        conn.execute(
            text(
                "INSERT INTO digest_subscriptions (workspace_id, member_id, enabled, day_of_week,"
                " hour, timezone, team, created_at, updated_at)"
                " VALUES (:ws, 'tm1', :on, 'tue', 7, 'Europe/Berlin', '', 0, 0)"
            ),
            {"ws": ws, "on": True},
        )
        conn.execute(
            text(
                "INSERT INTO digests (workspace_id, member_id, week, email, status, attempts,"
                " message_id, claimed_at, sent_at, updated_at)"
                " VALUES (:ws, 'tm1', '2026-W10', 'ann@co.example', 'sent', 1, '<m@pp>',"
                " 1, 2, 2)"
            ),
            {"ws": ws},
        )
    _upgrade(bare_engine, "head")
    assert schema_version(bare_engine) == SCHEMA_HEAD
    with bare_engine.connect() as conn:
        [sub] = store.subscriptions(conn, ws)
        [row] = store.ledger(conn, ws)
    assert (sub.day, sub.hour, sub.timezone, sub.enabled) == ("tue", 7, "Europe/Berlin", True)
    assert (sub.email_delivery, sub.webhook_kind, sub.webhook_url) == (True, None, None)
    assert sub.channels == ("email",)
    assert (row.channel, row.status, row.email) == ("email", "sent", "ann@co.example")
    again = store.claim(bare_engine, ws, "tm1", "2026-W10", "ann@co.example", "<n@pp>")
    assert again.digest_id is None and again.reason and "already sent" in again.reason
    hook = store.claim(
        bare_engine,
        ws,
        "tm1",
        "2026-W10",
        "slack https://hooks.slack.com/…",
        "<w@pp>",
        channel="webhook",
    )
    assert hook.digest_id is not None and hook.digest_id != row.id
    with write_transaction(bare_engine) as conn:
        store.subscribe(conn, ws, "tm1", webhook=("slack", "https://hooks.slack.com/x/y"))
    with bare_engine.connect() as conn:
        [sub] = store.subscriptions(conn, ws)
    assert sub.channels == ("email", "webhook")
