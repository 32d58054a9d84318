"""entries and baselines carry an item key (the nDelius contact id for activity entries)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.add_column(
            sa.Column(
                "item_key",
                sa.String(length=32),
                nullable=False,
                server_default="",
            )
        )
        batch.drop_index("ix_entry_crn_section_status")
        batch.create_index(
            "ix_entry_crn_section_status", ["crn", "section", "item_key", "status"], unique=False
        )
    # The baseline's primary key gains a column: rebuild the table (portable to SQLite).
    op.create_table(
        "baseline_new",
        sa.Column("crn", sa.String(length=16), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("item_key", sa.String(length=32), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("section_xml", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crn", "section", "item_key"),
    )
    op.execute(
        "INSERT INTO baseline_new (crn, section, item_key, content_hash, section_xml, entry_id,"
        " updated_at) SELECT crn, section, '', content_hash, section_xml, entry_id, updated_at"
        " FROM baseline"
    )
    op.drop_table("baseline")
    op.rename_table("baseline_new", "baseline")
    with op.batch_alter_table("entry") as batch:
        batch.alter_column("item_key", server_default=None)


def downgrade() -> None:
    raise NotImplementedError("0003 is not reversible: activity baselines would collide")
