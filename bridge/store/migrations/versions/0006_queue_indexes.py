"""the proxy's queue: a covering index in due order, the force filter, and a proxy's own cases

`ix_entry_queue` starts with (due_date, id), so it replaces `ix_entry_due`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("casestate", schema=None) as batch_op:
        batch_op.create_index("ix_casestate_on_behalf_of", ["on_behalf_of"], unique=False)
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_due")
        batch_op.create_index(
            "ix_entry_queue",
            ["due_date", "id", "status", "owning_force", "kind", "crn"],
            unique=False,
        )
        batch_op.create_index("ix_entry_force", ["owning_force", "status", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_force")
        batch_op.drop_index("ix_entry_queue")
        batch_op.create_index("ix_entry_due", ["due_date", "id"], unique=False)
    with op.batch_alter_table("casestate", schema=None) as batch_op:
        batch_op.drop_index("ix_casestate_on_behalf_of")
