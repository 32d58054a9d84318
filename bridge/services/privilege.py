"""The two-person rule (issue 18): privilege granted in the web needs a second administrator.

Granting the proxy or administrator role, recording vetting, or setting someone else's
password from the administrators' pages does not change the registry: it becomes a
`PrivilegeRequest` that every administrator sees, and another administrator — neither the one
who asked nor the person it is for — approves; then the change is applied as it was asked.
Both steps are audited (`privilege.requested`, `privilege.approved` / `privilege.declined`).
A password request holds the password's hash, never the password.

The staff file import and `visor-bridge staff set-password` are operator actions from the
server's shell (ARCHITECTURE §6): they apply at once, audited, and do not come here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.core.audit_events import (
    account_password_set,
    privilege_approved,
    privilege_declined,
    privilege_requested,
)
from bridge.core.lifecycle import is_admin
from bridge.errors import BadInput, NotPermitted, WrongState
from bridge.services import staff as registry
from bridge.services.accounts import MIN_PASSWORD_LENGTH, password_hasher
from bridge.services.views import PrivilegeRequestRow
from bridge.store.db import session_scope
from bridge.store.models import PrivilegeRequest, SignInThrottle, Staff, WebSession

__all__ = [
    "DECLINED",
    "GRANTED",
    "PASSWORD",
    "STAFF",
    "PrivilegeService",
    "hold",
]

#: Request kinds: a staff record to apply, or a password hash to set.
STAFF = "staff"
PASSWORD = "password"  # noqa: S105 - a kind's name, not a password
#: Outcomes (None while a request waits).
GRANTED = "granted"
DECLINED = "declined"
_DATES = ("vetting_expires", "needs_proxy_since", "needs_proxy_until")


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}


def _loaded(change: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (date.fromisoformat(v) if k in _DATES and isinstance(v, str) else v)
        for k, v in change.items()
    }


def hold(
    session: Session,
    *,
    code: str,
    kind: str,
    grants: list[str],
    change: dict[str, Any],
    actor: str,
    now: datetime,
) -> PrivilegeRequest:
    """Store a privilege request (in the caller's transaction) and audit it."""
    request = PrivilegeRequest(
        staff_code=code,
        kind=kind,
        grants=grants,
        change=_stored(change),
        requested_by=actor,
        requested_at=now,
    )
    session.add(request)
    session.flush()
    assert request.id is not None
    record(
        session,
        privilege_requested(actor, staff=code, request=request.id, grants=grants),
        at=now,
    )
    return request


def _row(request: PrivilegeRequest, name: str | None) -> PrivilegeRequestRow:
    assert request.id is not None
    return PrivilegeRequestRow(
        id=request.id,
        staff=request.staff_code,
        name=name,
        kind=request.kind,
        grants=list(request.grants),
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        outcome=request.outcome,
        decided_by=request.decided_by,
    )


class PrivilegeService:
    """Privilege requests: ask (a password here; staff records through AdminService), list,
    approve, decline."""

    def __init__(
        self, *, engine: Engine, clock: Clock, hasher: PasswordHasher | None = None
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._hasher = hasher or password_hasher()

    def _require_admin(self, actor: str, action: str) -> None:
        with Session(self._engine) as s:
            allowed = is_admin(s.get(Staff, actor))
        if not allowed:
            record_refusal(self._engine, actor, action, at=self._clock.now())
            raise NotPermitted()

    def request_password(self, code: str, password: str, *, actor: str) -> int:
        """Ask to set another person's password; returns the request's id."""
        self._require_admin(actor, "privilege-request")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise BadInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
        now = self._clock.now()
        with session_scope(self._engine) as s:
            if s.get(Staff, code) is None:
                raise BadInput(f"No staff member with code {code} in the registry.")
            change = {"password_hash": self._hasher.hash(password)}
            request = hold(
                s, code=code, kind=PASSWORD, grants=[PASSWORD], change=change, actor=actor, now=now
            )
            assert request.id is not None
            return request.id

    def waiting(self, *, actor: str) -> list[PrivilegeRequestRow]:
        """Every request still waiting, oldest first (every administrator sees them all)."""
        self._require_admin(actor, "privilege-requests")
        with Session(self._engine) as s:
            rows = s.exec(
                select(PrivilegeRequest)
                .where(col(PrivilegeRequest.outcome).is_(None))
                .order_by(col(PrivilegeRequest.id))
            ).all()
            names = {p.code: p.name for p in s.exec(select(Staff)).all()}
            return [_row(r, names.get(r.staff_code) or r.change.get("name")) for r in rows]

    def approve(self, request_id: int, *, actor: str) -> PrivilegeRequestRow:
        """Apply a waiting request: only another administrator may, who is not the person it
        grants privilege to. Refusals are audited and say why."""
        self._require_admin(actor, "privilege-approve")
        now = self._clock.now()
        with Session(self._engine) as s:  # the checks, before any write transaction opens
            found = s.get(PrivilegeRequest, request_id)
            parties = None if found is None else (found.requested_by, found.staff_code)
        if parties is not None and actor in parties:
            record_refusal(self._engine, actor, "privilege-approve", at=now)
            raise NotPermitted(
                "Not permitted: another administrator must approve "
                + (
                    "a request you made."
                    if parties[0] == actor
                    else "a change to your own privileges."
                )
            )
        with session_scope(self._engine) as s:
            request = s.get(PrivilegeRequest, request_id)
            if request is None:
                raise NotPermitted("Not permitted: no such request.")
            if request.outcome is not None:
                raise WrongState("This request has already been decided.")
            if request.kind == PASSWORD:
                self._set_password(s, request.staff_code, request.change["password_hash"], now)
                record(s, account_password_set(actor, staff=request.staff_code), at=now)
            else:
                registry.apply_row(s, _loaded(request.change), now=now, actor=actor)
            request.outcome, request.decided_by, request.decided_at = GRANTED, actor, now
            s.add(request)
            assert request.id is not None
            record(
                s,
                privilege_approved(
                    actor,
                    staff=request.staff_code,
                    request=request.id,
                    grants=request.grants,
                    requested_by=request.requested_by,
                ),
                at=now,
            )
            return _row(request, None)

    def decline(self, request_id: int, *, actor: str) -> PrivilegeRequestRow:
        """Decline a waiting request (any administrator, its requester included: a withdrawal)."""
        self._require_admin(actor, "privilege-decline")
        now = self._clock.now()
        with session_scope(self._engine) as s:
            request = s.get(PrivilegeRequest, request_id)
            if request is None:
                raise NotPermitted("Not permitted: no such request.")
            if request.outcome is not None:
                raise WrongState("This request has already been decided.")
            request.outcome, request.decided_by, request.decided_at = DECLINED, actor, now
            s.add(request)
            assert request.id is not None
            record(
                s, privilege_declined(actor, staff=request.staff_code, request=request.id), at=now
            )
            return _row(request, None)

    @staticmethod
    def _set_password(s: Session, code: str, password_hash: str, now: datetime) -> None:
        staff = s.get(Staff, code)
        if staff is None:
            raise WrongState("That member of staff is no longer in the registry.")
        staff.password_hash = password_hash
        staff.updated_at = now
        s.add(staff)
        s.execute(delete(WebSession).where(col(WebSession.staff_code) == code))
        s.execute(delete(SignInThrottle).where(col(SignInThrottle.key) == f"user:{code}"))
