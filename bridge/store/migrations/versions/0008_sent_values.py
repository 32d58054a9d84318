"""entry.sent: values nDelius sent that ViSOR cannot take, shown beside their issues (issue 14)

Record content (a proxy sees it beside the issue; purged with the XML by retention, erased with
the case). Entries queued before this migration have none: their page says "Not recorded" as
before, until the sync queues them again.

Revision ID: 0008_sent_values
Revises: 0007_notify
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_sent_values"
down_revision: str | None = "0007_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.add_column(sa.Column("sent", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("sent")
