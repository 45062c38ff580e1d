"""digests to Slack / Teams: a subscription's webhook and email switch; a ledger row per channel

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Existing subscriptions keep getting their email (``email_delivery`` true, no webhook);
existing ledger rows are email rows. The ledger's unique key gains ``channel`` so a
week's email and webhook post are claimed, counted and kept apart.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.add_column(
            sa.Column("email_delivery", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("webhook_kind", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
    with op.batch_alter_table("digests") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=8), nullable=False, server_default="email")
        )
        batch.drop_constraint("uq_digests_workspace_id_member_id_week", type_="unique")
        batch.create_unique_constraint(
            "uq_digests_workspace_id_member_id_week_channel",
            ["workspace_id", "member_id", "week", "channel"],
        )


def downgrade() -> None:
    op.execute("DELETE FROM digests WHERE channel <> 'email'")
    with op.batch_alter_table("digests") as batch:
        batch.drop_constraint("uq_digests_workspace_id_member_id_week_channel", type_="unique")
        batch.create_unique_constraint(
            "uq_digests_workspace_id_member_id_week", ["workspace_id", "member_id", "week"]
        )
        batch.drop_column("channel")
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.drop_column("webhook_url")
        batch.drop_column("webhook_kind")
        batch.drop_column("email_delivery")
