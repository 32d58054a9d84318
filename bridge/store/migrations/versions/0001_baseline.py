"""baseline: the whole schema of the first release (0001–0007 of the pre-release, squashed)

The partial indexes' conditions are literals, copied from bridge.core.lifecycle.OPEN_SQL and
bridge.store.models.ACCESS_LIST_SQL when this was written: a migration is frozen history and
never follows later changes to the code. tests/store/test_migrations.py proves the models
and this schema agree on SQLite and PostgreSQL.

A database stamped with a pre-release revision (0001–0007) is refused by
bridge.store.migrate with a one-line message: those revisions no longer exist.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Entries that still wait for a proxy (the partial index `ix_entry_waiting`).
WAITING_SQL = "status IN ('pending', 'claimed', 'approved', 'failed')"
#: Case states with an exclusion or restriction list (`ix_casestate_access_list`).
ACCESS_LIST_SQL = "CAST(excluded_from AS TEXT) != '[]' OR CAST(restricted_to AS TEXT) != '[]'"


def upgrade() -> None:
    op.create_table('auditevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('crn', sa.String(length=16), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_crn', 'auditevent', ['crn'], unique=False)
    op.create_index('ix_audit_entry', 'auditevent', ['entry_id'], unique=False)
    op.create_table('baseline',
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('section', sa.String(length=32), nullable=False),
    sa.Column('item_key', sa.String(length=32), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('section_xml', sa.Text(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('crn', 'section', 'item_key')
    )
    op.create_table('casestate',
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=True),
    sa.Column('in_scope', sa.Boolean(), nullable=False),
    sa.Column('scope_reason', sa.String(length=200), nullable=False),
    sa.Column('on_behalf_of', sa.String(length=16), nullable=True),
    sa.Column('excluded_from', sa.JSON(), nullable=False),
    sa.Column('restricted_to', sa.JSON(), nullable=False),
    sa.Column('mapping_version', sa.String(length=32), nullable=True),
    sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('crn')
    )
    op.create_index('ix_casestate_access_list', 'casestate', ['crn'], unique=False, sqlite_where=sa.text(ACCESS_LIST_SQL), postgresql_where=sa.text(ACCESS_LIST_SQL))
    op.create_index('ix_casestate_on_behalf_of', 'casestate', ['on_behalf_of'], unique=False)
    op.create_table('entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('section', sa.String(length=32), nullable=False),
    sa.Column('item_key', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('xml', sa.Text(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('issues', sa.JSON(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.Column('on_behalf_of', sa.String(length=16), nullable=False),
    sa.Column('mapping_version', sa.String(length=32), nullable=False),
    sa.Column('source_occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=16), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('visor_reference', sa.String(length=64), nullable=True),
    sa.Column('entered_at', sa.Date(), nullable=True),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.Column('owning_force', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_entry_crn_section_status', 'entry', ['crn', 'section', 'item_key', 'status'], unique=False)
    op.create_index('ix_entry_force', 'entry', ['owning_force', 'status', 'kind'], unique=False)
    op.create_index('ix_entry_on_behalf_of', 'entry', ['on_behalf_of'], unique=False)
    op.create_index('ix_entry_status_queue', 'entry', ['status', 'due_date', 'id', 'crn', 'owning_force', 'kind'], unique=False)
    op.create_index('ix_entry_waiting', 'entry', ['due_date', 'id', 'crn', 'owning_force', 'kind', 'status'], unique=False, sqlite_where=sa.text(WAITING_SQL), postgresql_where=sa.text(WAITING_SQL))
    op.create_table('joblock',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_run', sa.DateTime(timezone=True), nullable=True),
    sa.Column('holder', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('retryitem',
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('crn')
    )
    op.create_table('signinthrottle',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('sinkbreaker',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('staff',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('team', sa.String(length=16), nullable=True),
    sa.Column('vetting_level', sa.String(length=16), nullable=True),
    sa.Column('vetting_expires', sa.Date(), nullable=True),
    sa.Column('needs_proxy_since', sa.Date(), nullable=True),
    sa.Column('needs_proxy_until', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('synccursor',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('syncrun',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('events_read', sa.Integer(), nullable=False),
    sa.Column('cases_fetched', sa.Integer(), nullable=False),
    sa.Column('entries_created', sa.Integer(), nullable=False),
    sa.Column('entries_superseded', sa.Integer(), nullable=False),
    sa.Column('cases_failed', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('websession',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_code', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_websession_staff_code'), 'websession', ['staff_code'], unique=False)
    op.create_table('entryversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('xml', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_id', 'version')
    )
    op.create_index(op.f('ix_entryversion_entry_id'), 'entryversion', ['entry_id'], unique=False)

    # The audit log is append-only: the database itself refuses UPDATE and DELETE on it.
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
    for table in (
        "entryversion",
        "websession",
        "syncrun",
        "synccursor",
        "staff",
        "sinkbreaker",
        "signinthrottle",
        "retryitem",
        "joblock",
        "entry",
        "casestate",
        "baseline",
        "auditevent",
    ):
        op.drop_table(table)  # its indexes (and SQLite's triggers) go with it
