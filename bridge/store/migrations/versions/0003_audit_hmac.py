"""audit_hmac: a keyed audit chain, its start marks, and a log the application cannot rewrite (issue 17)

- `auditevent.key_id`: the key that signed each event (HMAC-SHA-256, see core.audit_chain).
- `auditchainmark`: where the keyed chain starts. Existing events are not re-chained (the
  migration does not hold the audit key, and rewriting the log is what it must never allow):
  they keep their unkeyed SHA-256 values, and a `keyed` mark records the last of them, whose
  value the first keyed event covers. Archives (`audit archive`) add `archived` marks.
- SQLite: a trigger refuses an INSERT over an existing id (`INSERT OR REPLACE`, which deletes
  without firing the delete trigger); both tables refuse UPDATE and DELETE.
- PostgreSQL: a statement trigger refuses TRUNCATE; the marks table refuses UPDATE and DELETE.
  The application's role is granted only INSERT and SELECT on `auditevent` and SELECT on
  `auditchainmark` (`visor-bridge db grant ROLE`, see docs/data-protection.md); the owner
  runs the migrations.

Revision ID: 0003_audit_hmac
Revises: 0002_attention
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.clock import SystemClock

revision: str = "0003_audit_hmac"
down_revision: str | None = "0002_attention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSE = "the audit log is append-only"


def upgrade() -> None:
    op.add_column("auditevent", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.create_table(
        "auditchainmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mark", sa.String(length=16), nullable=False),
        sa.Column("after_event_id", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT id, hash FROM auditevent ORDER BY id DESC LIMIT 1")).first()
    if last is not None:  # the unkeyed events written so far end here
        bind.execute(
            sa.text(
                "INSERT INTO auditchainmark (mark, after_event_id, head, events, at) "
                "VALUES ('keyed', :id, :head, 0, :at)"
            ),
            {"id": last[0], "head": last[1], "at": SystemClock().now()},
        )
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON auditevent "
            "FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()"
        )
        op.execute(
            "CREATE TRIGGER auditchainmark_no_change BEFORE UPDATE OR DELETE ON auditchainmark "
            "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()"
        )
        op.execute(
            "CREATE TRIGGER auditchainmark_no_truncate BEFORE TRUNCATE ON auditchainmark "
            "FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()"
        )
        return
    for table in ("auditevent", "auditchainmark"):
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
        )
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER auditchainmark_no_{verb.lower()} BEFORE {verb} ON auditchainmark "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER auditevent_no_truncate ON auditevent")
    else:
        op.execute("DROP TRIGGER auditevent_no_replace")
    op.drop_table("auditchainmark")  # its triggers go with it
    op.drop_column("auditevent", "key_id")  # SQLite 3.35+ drops a column in place
