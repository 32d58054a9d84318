"""The operator's plumbing as a service: the schema upgrade and the scheduler's ticks.

Entrypoints (the CLI, the demo, the scheduler) reach the store only through services; these
are the two things they need that belong to no other service.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bridge.clock import Clock
from bridge.store.locks import claim_tick

__all__ = ["OperationsService"]


class OperationsService:
    """Schema upgrades and the scheduler's once-per-interval claim, across instances."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def migrate(self) -> None:
        """Upgrade the database to the newest schema (Alembic)."""
        from bridge.store.migrate import upgrade  # alembic is slow to import: only here

        upgrade(self._engine)

    def grant_application(self, role: str) -> None:
        """As the owner: give the application's PostgreSQL role its privileges (store.roles)."""
        from bridge.store.roles import grant_application

        grant_application(self._engine, role)

    def readiness(self) -> str | None:
        """Why this instance is not ready for traffic, or None when it is: the database
        answers and carries this release's schema (an empty SQLite file made by a mistyped
        BRIDGE_DATABASE_URL does not). Reasons name no data."""
        from bridge.store.migrate import head_revision, stamped_revisions

        try:
            stamped = stamped_revisions(self._engine)
        except Exception:  # noqa: BLE001 - readiness: any failure to read means not ready
            return "the database does not answer"
        if not stamped:
            return "the database has no visor-bridge schema: run `visor-bridge db upgrade`"
        if stamped != [head_revision()]:
            return (
                f"the database schema is at {', '.join(stamped)}, this release needs "
                f"{head_revision()}: run `visor-bridge db upgrade`"
            )
        return None

    def claim_tick(self, name: str, *, min_gap: timedelta, holder: str) -> bool:
        """This instance runs this tick of job `name`; False if another instance has it."""
        return claim_tick(self._engine, name, now=self._clock.now(), min_gap=min_gap, holder=holder)
