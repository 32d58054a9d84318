"""workfact, workweek, staff.manages: the workload a proxy carries (issue 15), back-filled

The back-fill replays the audit trail's claims, decisions and entries, in id order, through
the same code that records them live (`bridge.store.workfacts.observe_rows`), so the figures
are the ones live recording would have given. Staff teams are today's (the trail does not say
which team someone was in then).

Revision ID: 0006_work_facts
Revises: 0005_held_forms
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_work_facts"
down_revision: str | None = "0005_held_forms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("manages", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("staff") as batch:
        batch.alter_column("manages", server_default=None)
    op.create_table(
        "workfact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("crn", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("staff", sa.String(length=16), nullable=True),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("officer", sa.String(length=16), nullable=True),
        sa.Column("officer_team", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_week", sa.Date(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("week", sa.Date(), nullable=True),
        sa.Column("ended", sa.String(length=16), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workfact_open", "workfact", ["entry_id", "kind", "ended_at"])
    op.create_index("ix_workfact_crn", "workfact", ["crn"])
    op.create_index("ix_workfact_staff", "workfact", ["staff", "kind", "week", "crn"])
    op.create_index(
        "ix_workfact_backlog",
        "workfact",
        ["kind", "week", "start_week", "due_date", "ended", "overdue"],
    )
    op.create_table(
        "workweek",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("staff", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("holds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "role", "staff", "team"),
    )
    backfill(op.get_bind())


def backfill(conn: sa.engine.Connection) -> None:
    """Replay the audit trail's work events into the new tables, a batch at a time."""
    from bridge.core.workload import WORK_ACTIONS
    from bridge.store.workfacts import observe_rows

    audit = sa.table(
        "auditevent",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("action", sa.String()),
        sa.column("actor", sa.String()),
        sa.column("crn", sa.String()),
        sa.column("entry_id", sa.Integer()),
        sa.column("detail", sa.JSON()),
    )
    after = 0
    while True:
        rows = conn.execute(
            sa.select(audit)
            .where(audit.c.id > after, audit.c.action.in_(sorted(WORK_ACTIONS)))
            .order_by(audit.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        observe_rows(conn, rows)
        after = rows[-1].id


def downgrade() -> None:
    op.drop_table("workweek")
    op.drop_index("ix_workfact_backlog", table_name="workfact")
    op.drop_index("ix_workfact_staff", table_name="workfact")
    op.drop_index("ix_workfact_crn", table_name="workfact")
    op.drop_index("ix_workfact_open", table_name="workfact")
    op.drop_table("workfact")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("manages")
