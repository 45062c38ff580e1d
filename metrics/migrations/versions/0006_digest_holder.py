"""digests: which process holds a claim (host, pid, process start), for crash recovery

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("holder", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("holder")
