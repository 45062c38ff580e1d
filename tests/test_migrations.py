"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import metrics.app_models  # noqa: F401  (the application tables share the metadata)
from metrics.models import Base
from tests.conftest import Db


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
