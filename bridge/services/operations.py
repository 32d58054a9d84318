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

    def claim_tick(self, name: str, *, min_gap: timedelta, holder: str) -> bool:
        """This instance runs this tick of job `name`; False if another instance has it."""
        return claim_tick(self._engine, name, now=self._clock.now(), min_gap=min_gap, holder=holder)
