"""the proxy's queue read from indexes alone: waiting work (partial) and any one state

`ix_casestate_access_list` holds only the cases with an exclusion or restriction list.

`ix_entry_waiting` holds only entries that still wait for a proxy, in due order, with every
column the queue filters on; `ix_entry_status_queue` does the same for one chosen state and
replaces `ix_entry_status_due` (a prefix of it). `ix_entry_queue` is no longer used.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING_SQL = "status IN ('pending', 'claimed', 'approved', 'failed')"
ACCESS_LIST_SQL = "CAST(excluded_from AS TEXT) != '[]' OR CAST(restricted_to AS TEXT) != '[]'"


def upgrade() -> None:
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_queue")
        batch_op.drop_index("ix_entry_status_due")
        batch_op.create_index(
            "ix_entry_status_queue",
            ["status", "due_date", "id", "crn", "owning_force", "kind"],
            unique=False,
        )
        batch_op.create_index(
            "ix_entry_waiting",
            ["due_date", "id", "crn", "owning_force", "kind", "status"],
            unique=False,
            sqlite_where=sa.text(WAITING_SQL),
            postgresql_where=sa.text(WAITING_SQL),
        )
    with op.batch_alter_table("casestate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_casestate_access_list",
            ["crn"],
            unique=False,
            sqlite_where=sa.text(ACCESS_LIST_SQL),
            postgresql_where=sa.text(ACCESS_LIST_SQL),
        )


def downgrade() -> None:
    with op.batch_alter_table("casestate", schema=None) as batch_op:
        batch_op.drop_index("ix_casestate_access_list")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_waiting")
        batch_op.drop_index("ix_entry_status_queue")
        batch_op.create_index("ix_entry_status_due", ["status", "due_date", "id"], unique=False)
        batch_op.create_index(
            "ix_entry_queue",
            ["due_date", "id", "status", "owning_force", "kind", "crn"],
            unique=False,
        )
