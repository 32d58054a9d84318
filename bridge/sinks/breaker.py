"""A circuit breaker for a sink, kept in the database (table `sinkbreaker`).

    closed ──N consecutive unavailable deliveries──► open ──cool-down passed──► half-open
      ▲                                                ▲                            │
      └──────────────── a delivery goes through ───────┼────────────────────────────┤
                                                       └──── the trial fails ───────┘

Why the database and not process memory: `visor-bridge submit` is a short process (cron, the
scheduler on one or several instances), so a breaker in memory would start closed on every
run and each run would spend N times BRIDGE_HTTP_ATTEMPTS requests on a ViSOR that is down, and
the cool-down would mean nothing. One row per sink makes every process and instance see the
same state; the `submit` job lock means only one run changes it at a time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bridge.clock import Clock
from bridge.store import outbox
from bridge.store.db import session_scope
from bridge.store.models import SinkBreaker

__all__ = ["BreakerState", "CircuitBreaker"]

log = structlog.get_logger(__name__)

BreakerState = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; half-opens after `cooldown_seconds`."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str,
        threshold: int,
        cooldown_seconds: float,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self.name = name
        self._threshold = threshold
        self._cooldown = timedelta(seconds=cooldown_seconds)
        self._clock = clock

    def _state_of(self, row: SinkBreaker | None) -> BreakerState:
        if row is None or row.opened_at is None:
            return "closed"
        return "open" if self._clock.now() < row.opened_at + self._cooldown else "half-open"

    def state(self) -> BreakerState:
        with Session(self._engine) as s:
            return self._state_of(s.get(SinkBreaker, self.name))

    def allow(self) -> bool:
        """May a delivery be tried now? (Closed, or half-open: one trial.)"""
        return self.state() != "open"

    def record_success(self) -> None:
        with session_scope(self._engine) as s:
            row = s.get(SinkBreaker, self.name)
            if row is None or (row.failures == 0 and row.opened_at is None):
                return
            if row.opened_at is not None:
                log.warning("breaker.closed", sink=self.name)
            row.failures, row.opened_at, row.updated_at = 0, None, self._clock.now()
            s.add(row)

    def record_failure(self) -> None:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            row = s.get(SinkBreaker, self.name) or SinkBreaker(name=self.name, updated_at=now)
            row.failures += 1
            if row.opened_at is not None or row.failures >= self._threshold:
                if row.opened_at is None:  # closed → open: administrators are told once
                    outbox.on_breaker_open(s, opened_at=now)
                # A failed half-open trial opens it again for a whole cool-down.
                row.opened_at = now
                log.warning(
                    "breaker.opened",
                    sink=self.name,
                    failures=row.failures,
                    cooldown_seconds=self._cooldown.total_seconds(),
                )
            row.updated_at = now
            s.add(row)
