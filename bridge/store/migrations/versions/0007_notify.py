"""notification outbox, notification opt-outs and staff.email (issue 16: GOV.UK Notify)

Revision ID: 0007_notify
Revises: 0006_work_facts
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_notify"
down_revision: str | None = "0006_work_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe", sa.String(length=160), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=True),
        sa.Column("mailbox", sa.String(length=320), nullable=True),
        sa.Column("crn", sa.String(length=16), nullable=True),
        sa.Column("personalisation", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("notify_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe", name="uq_notification_dedupe"),
    )
    op.create_index("ix_notification_status", "notification", ["status", "id"], unique=False)
    op.create_index("ix_notification_crn", "notification", ["crn"], unique=False)
    op.create_table(
        "notifyoptout",
        sa.Column("staff_code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("staff_code", "kind"),
    )


def downgrade() -> None:
    op.drop_table("notifyoptout")
    op.drop_index("ix_notification_crn", table_name="notification")
    op.drop_index("ix_notification_status", table_name="notification")
    op.drop_table("notification")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("email")
