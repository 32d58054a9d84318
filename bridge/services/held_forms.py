"""Forms sent after a session ended: held for the same person and offered again after sign-in.

A proxy who types an answer and sends it after their session has lapsed would otherwise lose
it to the sign-in page. The web holds the form's fields (never its CSRF token) for the member
of staff whose session it was, for 30 minutes; after they sign in again the form is offered
back, once. Held fields are record content: they are never logged or audited, a row is
erased with its case (retention's PURGE_RULES, which erasure follows) and deleted once it
lapses (by this service whenever it is used, and by the retention purge as a backstop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.clock import Clock
from bridge.store.db import session_scope
from bridge.store.models import HeldForm

__all__ = ["HOLD_FOR", "Held", "HeldFormService"]

#: How long a form is held for its sender.
HOLD_FOR = timedelta(minutes=30)
_MAX_FIELDS = 50
_MAX_VALUE = 5000


@dataclass(frozen=True)
class Held:
    """A held form: where it was going and what it carried."""

    id: int
    crn: str
    path: str
    fields: dict[str, str]


class HeldFormService:
    def __init__(self, *, engine: Engine, clock: Clock, hold_for: timedelta = HOLD_FOR) -> None:
        self._engine = engine
        self._clock = clock
        self._hold_for = hold_for

    def _purge(self, s: Session) -> None:
        s.execute(delete(HeldForm).where(col(HeldForm.expires_at) < self._clock.now()))

    def hold(self, *, staff: str, crn: str, path: str, fields: dict[str, str]) -> int:
        """Hold a form `staff` sent to `path` (about case `crn`); its id."""
        kept = {
            k[:100]: v[:_MAX_VALUE]
            for k, v in list(fields.items())[:_MAX_FIELDS]
            if k != "csrf_token"
        }
        now = self._clock.now()
        with session_scope(self._engine) as s:
            self._purge(s)
            row = HeldForm(
                staff_code=staff,
                crn=crn,
                path=path[:500],
                fields=kept,
                created_at=now,
                expires_at=now + self._hold_for,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def take(self, *, staff: str) -> Held | None:
        """The newest form held for `staff` (removed as it is handed back), or None."""
        with session_scope(self._engine) as s:
            self._purge(s)
            row = s.exec(
                select(HeldForm)
                .where(col(HeldForm.staff_code) == staff)
                .order_by(col(HeldForm.id).desc())
            ).first()
            if row is None or row.id is None:
                return None
            held = Held(row.id, row.crn, row.path, {str(k): str(v) for k, v in row.fields.items()})
            s.delete(row)
            return held

    def waiting(self, *, staff: str) -> bool:
        """Whether a form is held for `staff`."""
        with Session(self._engine) as s:
            return (
                s.exec(
                    select(HeldForm.id).where(
                        col(HeldForm.staff_code) == staff,
                        col(HeldForm.expires_at) >= self._clock.now(),
                    )
                ).first()
                is not None
            )
