"""privilegerequest: privilege changes that wait for a second administrator (issue 18)

Revision ID: 0004_privilege_requests
Revises: 0002_attention
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_privilege_requests"
down_revision: str | None = "0003_audit_hmac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privilegerequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_privilegerequest_outcome", "privilegerequest", ["outcome"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_privilegerequest_outcome", table_name="privilegerequest")
    op.drop_table("privilegerequest")
