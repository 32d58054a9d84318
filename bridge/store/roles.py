"""PostgreSQL roles: the owner runs migrations; the application's role cannot rewrite the audit log.

The owner (`BRIDGE_DATABASE_OWNER_URL`) owns every table and runs `db upgrade` and `audit
archive`. The application (`BRIDGE_DATABASE_URL`) connects as a role granted by `grant_application`:
read and write on the working tables, but only INSERT and SELECT on `auditevent` and SELECT on
`auditchainmark` — so it can neither change nor remove an event, TRUNCATE the table, nor
disable its triggers (only an owner may ALTER a table). Chain appends are serialised by an
advisory lock, which needs no privilege on the table.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bridge.errors import BadInput, ConfigError

__all__ = ["APPEND_ONLY", "grant_application"]

#: table → the only privileges the application's role holds on it.
APPEND_ONLY = {"auditevent": "SELECT, INSERT", "auditchainmark": "SELECT"}
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_application(owner: Engine, role: str) -> None:
    """Grant `role` what the application needs on every table in the schema, and no more on
    the audit tables. Run as the owner after each `db upgrade` that adds tables."""
    if owner.dialect.name != "postgresql":
        raise ConfigError("Roles apply to PostgreSQL only; SQLite is protected by its triggers.")
    if not _ROLE.match(role):
        raise BadInput(f"{role!r} is not a plain PostgreSQL role name (a-z, 0-9, _).")
    with owner.begin() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in tables:
            conn.execute(text(f'REVOKE ALL ON "{table}" FROM {role}'))
            allowed = APPEND_ONLY.get(table, "SELECT, INSERT, UPDATE, DELETE")
            if table == "alembic_version":
                allowed = "SELECT"
            conn.execute(text(f'GRANT {allowed} ON "{table}" TO {role}'))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
