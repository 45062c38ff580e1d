"""covering indexes for the dashboard queries

Sessions and daily activity are read by time window with project and user
conditions and summed durations or counts: indexes that hold those columns
answer the dashboard without touching the tables. They replace the narrower
time indexes they contain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sessions_cover",
        "sessions",
        ["workspace_id", "started_at", "project_id", "user_id", "duration_ms", "device"],
    )
    op.drop_index("ix_sessions_time", table_name="sessions")
    op.create_index(
        "ix_daily_activity_cover",
        "daily_activity",
        ["workspace_id", "day", "project_id", "user_id", "logins", "page_views", "actions"],
    )
    op.drop_index("ix_daily_activity_day", table_name="daily_activity")


def downgrade() -> None:
    op.create_index("ix_daily_activity_day", "daily_activity", ["workspace_id", "day"])
    op.drop_index("ix_daily_activity_cover", table_name="daily_activity")
    op.create_index("ix_sessions_time", "sessions", ["workspace_id", "started_at"])
    op.drop_index("ix_sessions_cover", table_name="sessions")
