"""heldform: a form sent after its session ended, held for the same person; an index of
claimed entries by claim time, for the lapsed-claim check every task page makes (issue 14)

Revision ID: 0005_held_forms
Revises: 0004_privilege_requests
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_held_forms"
down_revision: str | None = "0004_privilege_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heldform",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_code", sa.String(length=16), nullable=False),
        sa.Column("crn", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_heldform_staff_code", "heldform", ["staff_code"], unique=False)
    op.create_index("ix_heldform_crn", "heldform", ["crn"], unique=False)
    op.create_index("ix_entry_claim_expiry", "entry", ["status", "claimed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_entry_claim_expiry", table_name="entry")
    op.drop_index("ix_heldform_crn", table_name="heldform")
    op.drop_index("ix_heldform_staff_code", table_name="heldform")
    op.drop_table("heldform")
