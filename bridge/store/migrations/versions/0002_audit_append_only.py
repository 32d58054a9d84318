"""audit log is append-only: the database itself refuses UPDATE and DELETE on auditevent

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION auditevent_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
            $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER auditevent_no_change BEFORE UPDATE OR DELETE ON auditevent "
            "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER auditevent_no_{verb.lower()} BEFORE {verb} ON auditevent "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER auditevent_no_change ON auditevent")
        op.execute("DROP FUNCTION auditevent_append_only()")
    else:
        op.execute("DROP TRIGGER auditevent_no_update")
        op.execute("DROP TRIGGER auditevent_no_delete")
