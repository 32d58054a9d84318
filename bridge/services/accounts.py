"""Local accounts for the web UI: passwords, sign-in with throttling, sessions with an idle timeout.

The rules live here, not in the pages. The browser holds a random token; the store keeps only
its SHA-256, so a copy of the database cannot be replayed as a cookie. Every sign-in, sign-out
and failure is an audit event (category `access`); nothing records the password typed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, update
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record
from bridge.clock import Clock
from bridge.core import audit_events as events
from bridge.errors import BadInput, DomainRefusal
from bridge.services.views import Person
from bridge.store.db import is_postgres, session_scope
from bridge.store.models import SignInThrottle, Staff, WebSession

__all__ = [
    "AccountDeactivated",
    "AccountNotSetUp",
    "AccountService",
    "SignInRefused",
    "SignInThrottled",
    "hash_token",
    "password_hasher",
    "username_digest",
]

MIN_PASSWORD_LENGTH = 12
#: The longest staff code the registry holds.
_CODE_MAX = 16
#: The staff columns a `Person` is made of (never the password hash).
_PERSON = (
    col(Staff.code),
    col(Staff.name),
    col(Staff.roles),
    col(Staff.team),
    col(Staff.active),
    col(Staff.vetting_level),
    col(Staff.vetting_expires),
    col(Staff.needs_proxy_since),
    col(Staff.needs_proxy_until),
)
#: The statements every signed-in request runs, built once: the session's last use with its
#: person's row, and (at most once a minute) the new last use.
_SESSION_AND_PERSON = (
    select_columns(col(WebSession.last_seen_at), *_PERSON)
    .select_from(WebSession)
    .join(Staff, col(Staff.code) == col(WebSession.staff_code), isouter=True)
    .where(col(WebSession.token_hash) == bindparam("b_token"))
)
_TOUCH = (
    update(WebSession)
    .where(col(WebSession.token_hash) == bindparam("b_token"))
    .values(last_seen_at=bindparam("b_now"))
)
#: Sessions are touched at most this often, so reading pages does not write on every request.
_TOUCH_EVERY = timedelta(seconds=60)


class SignInRefused(DomainRefusal):
    """Wrong username or password: one message for both, so usernames cannot be probed."""

    MESSAGE = "Enter a correct username and password."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class SignInThrottled(DomainRefusal):
    """Too many failed attempts for this username or from this address."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        super().__init__(
            f"Too many failed attempts. Wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and try again, or ask an administrator to reset your password."
        )


class AccountNotSetUp(DomainRefusal):
    """Single sign-on vouched for a staff code the registry does not hold."""

    MESSAGE = "Your account is not set up in visor-bridge. Ask an administrator to add you."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class AccountDeactivated(DomainRefusal):
    """Single sign-on vouched for a person whose registry record is deactivated."""

    MESSAGE = (
        "Your account in visor-bridge has been deactivated. "
        "Ask an administrator if you think this is wrong."
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


def password_hasher() -> PasswordHasher:
    """argon2id at OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1; Password Storage
    Cheat Sheet), not the library's RFC 9106 profile (64 MiB, t = 3, 4 lanes): about an eighth
    of the CPU per sign-in (~20 ms against ~190 ms) on a machine whose cores also serve every
    page. A hash made with other parameters still verifies, and is re-hashed with these at
    the person's next sign-in (`check_needs_rehash`), so nobody has to reset a password."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Throttling:
    max_failures: int = 5  # within `window`, per username
    max_failures_per_client: int = 20  # per client address (an office may share one)
    #: Failures of every username from every address together: past it, every sign-in is
    #: refused unchecked for `lockout` (a guessing run spread over many addresses and names).
    max_failures_global: int = 200
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


#: The throttling row that counts every failure (the global budget).
_GLOBAL = "global"


def username_digest(typed: str, key: bytes = b"") -> str:
    """What the audit log keeps of a typed username that is not a staff code: a short keyed
    hash (HMAC-SHA-256 under the secret key), so a password typed into the wrong box never
    reaches the permanent log, nor can be guessed back from it without the key."""
    mac = hmac.new(key, typed.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return mac.hexdigest()[:16]


class AccountService:
    """Passwords, sign-in, sessions and sign-out for staff in the registry."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        idle_timeout: timedelta = timedelta(minutes=30),
        throttling: Throttling | None = None,
        hasher: PasswordHasher | None = None,
        name_key: bytes = b"",
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._idle = idle_timeout
        self._throttling = throttling or Throttling()
        self._hasher = hasher or password_hasher()
        self._name_key = name_key  # keys the hash of a throttled, unknown username
        self._read_options: dict[str, Any] = (
            {"isolation_level": "AUTOCOMMIT"} if is_postgres(engine) else {}
        )
        # Verified against when the username is unknown, so both failures take as long.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    # -- passwords ------------------------------------------------------------------

    def set_password(self, code: str, password: str, *, actor: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise BadInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
        now = self._clock.now()
        with session_scope(self._engine) as s:
            staff = s.get(Staff, code)
            if staff is None:
                raise BadInput(f"No staff member with code {code} in the registry.")
            staff.password_hash = self._hasher.hash(password)
            s.add(staff)
            # A new password ends every session the old one opened.
            s.execute(delete(WebSession).where(col(WebSession.staff_code) == code))
            s.execute(delete(SignInThrottle).where(col(SignInThrottle.key) == f"user:{code}"))
            record(
                s,
                events.account_password_set(actor, staff=code),
                at=now,
            )

    # -- signing in and out ---------------------------------------------------------------

    def sign_in(self, username: str, password: str, *, client: str) -> str:
        """A new session token for `username`, or SignInRefused / SignInThrottled (audited)."""
        now = self._clock.now()
        code = username.strip().upper()[:16]
        keys = (f"user:{code}", f"client:{client[:180]}", _GLOBAL)
        with session_scope(self._engine) as s:
            self._purge(s, now)
            locked = self._locked_minutes(s, keys, now)
            if locked:
                self._audit_throttled(s, code, now)
                raise_later: DomainRefusal = SignInThrottled(locked)
            else:
                staff = s.get(Staff, code)
                # Verified against a dummy hash when the name is unknown: one timing for both.
                if self._verify(s, staff, password) and staff is not None and staff.active:
                    s.execute(delete(SignInThrottle).where(col(SignInThrottle.key) == keys[0]))
                    return self._open_session(s, code, now)
                self._count_failure(s, keys, now)
                known = code if staff is not None else None
                record(
                    s,
                    events.sign_in_failed(events.ANONYMOUS, staff=known),
                    at=now,
                )
                raise_later = SignInRefused()
        raise raise_later

    def sign_in_verified(self, code: str, *, method: str) -> str:
        """A new session token for a staff code an identity provider vouched for (single
        sign-on): the registry decides who they are and what they may do, never the provider.
        AccountNotSetUp for a code it does not hold, AccountDeactivated for an inactive person
        (both audited as `sign_in.failed` with `method` and `reason`)."""
        now = self._clock.now()
        code = code.strip().upper()  # never cut to length: a longer name is nobody's code
        with session_scope(self._engine) as s:
            self._purge(s, now)
            staff = s.get(Staff, code) if len(code) <= _CODE_MAX else None
            if staff is not None and staff.active:
                return self._open_session(s, code, now, method=method)
            reason = "unknown_staff" if staff is None else "inactive"
            known = code if staff is not None else None
            record(
                s,
                events.sign_in_failed(events.ANONYMOUS, staff=known, method=method, reason=reason),
                at=now,
            )
            raise_later: DomainRefusal = (
                AccountNotSetUp() if staff is None else AccountDeactivated()
            )
        raise raise_later

    def sign_in_refused(self, *, method: str, reason: str, client: str) -> None:
        """Record a single sign-on refused before anyone was identified (a bad token, a state
        that does not match, the provider's error): `reason` from a fixed vocabulary. Each
        counts against the client address's budget (as a wrong password does); once it is
        spent, further refusals from that address are not recorded until the lock ends, so
        nobody can fill the permanent log by calling the callback in a loop."""
        now = self._clock.now()
        keys = (f"client:{client[:180]}",)
        with session_scope(self._engine) as s:
            if self._locked_minutes(s, keys, now):
                return
            self._count_failure(s, keys, now)
            record(
                s,
                events.sign_in_failed(events.ANONYMOUS, staff=None, method=method, reason=reason),
                at=now,
            )

    def sign_out(self, token: str) -> None:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            row = s.get(WebSession, hash_token(token))
            if row is not None:
                s.delete(row)
                record(s, events.sign_out(row.staff_code), at=now)

    def session_staff(self, token: str, *, lapsed: list[str] | None = None) -> Person | None:
        """The signed-in staff member for `token`, or None (unknown, idle too long, or inactive).

        `lapsed`, when given, receives the staff code of a session that has just ended for
        being idle (so the web can hold a form that person sent as it ended)."""
        now = self._clock.now()
        hashed = hash_token(token)
        # One query on every request: the session's last use and its person's row. On
        # PostgreSQL in autocommit: one statement needs no BEGIN and ROLLBACK round trips
        # around it (SQLite's connections keep their own BEGIN handling: bridge.store.db).
        with self._engine.connect().execution_options(**self._read_options) as conn:
            found = conn.execute(_SESSION_AND_PERSON, {"b_token": hashed}).first()
            if found is None:
                return None
            staff = found if found.code is not None else None
            expired = found.last_seen_at + self._idle < now
            fresh = found.last_seen_at + _TOUCH_EVERY > now
            live = not expired and staff is not None and staff.active
            if live and not fresh:
                # The session's last use (at most once a minute), on the same connection: one
                # more statement, no transaction of its own (PostgreSQL: in autocommit, the
                # commit sends nothing; SQLite: the read's transaction already writes).
                conn.execute(_TOUCH, {"b_token": hashed, "b_now": now})
                conn.commit()
        if not live or staff is None:
            with session_scope(self._engine) as s:
                gone = s.get(WebSession, hashed)
                if gone is not None:
                    if expired and lapsed is not None and staff is not None and staff.active:
                        lapsed.append(gone.staff_code)
                    s.delete(gone)
                    record(
                        s,
                        events.session_expired(gone.staff_code),
                        at=now,
                    )
            return None
        return Person.of(staff)

    def administrators(self) -> list[tuple[str, str]]:
        """(name, staff code) of each active administrator: whom a refused person may ask."""
        with Session(self._engine) as s:
            rows = s.exec(select(Staff).where(col(Staff.active).is_(True))).all()
            return sorted((p.name, p.code) for p in rows if "admin" in (p.roles or []))

    # -- helpers ----------------------------------------------------------------------------

    def _open_session(
        self, s: Session, code: str, now: datetime, *, method: str | None = None
    ) -> str:
        token = secrets.token_urlsafe(32)
        s.add(
            WebSession(
                token_hash=hash_token(token), staff_code=code, created_at=now, last_seen_at=now
            )
        )
        record(s, events.sign_in(code, method=method), at=now)
        return token

    def _audit_throttled(self, s: Session, code: str, now: datetime) -> None:
        """One `sign_in.throttled` per typed name per lockout period (the log is permanent): a
        staff code as itself, anything else as a short hash of what was typed."""
        known = s.get(Staff, code) is not None
        digest = username_digest(code, self._name_key)
        marker_key = f"audited:{code if known else digest}"
        marker = s.get(SignInThrottle, marker_key)
        if marker is not None and marker.locked_until is not None and marker.locked_until > now:
            return
        marker = marker or SignInThrottle(key=marker_key, first_failed_at=now)
        marker.first_failed_at, marker.locked_until = now, now + self._throttling.lockout
        s.add(marker)
        if known:
            event = events.sign_in_throttled(events.ANONYMOUS, staff=code)
        else:
            event = events.sign_in_throttled(events.ANONYMOUS, username_hash=digest)
        record(s, event, at=now)

    def _verify(self, s: Session, staff: Staff | None, password: str) -> bool:
        stored = staff.password_hash if staff is not None else None
        try:
            self._hasher.verify(stored or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if stored is None or staff is None:
            return False
        if self._hasher.check_needs_rehash(stored):
            staff.password_hash = self._hasher.hash(password)
            s.add(staff)
        return True

    def _purge(self, s: Session, now: datetime) -> None:
        """Forget idle sessions and spent throttling rows (they hold client addresses)."""
        s.execute(delete(WebSession).where(col(WebSession.last_seen_at) < now - self._idle))
        t = self._throttling
        s.execute(
            delete(SignInThrottle).where(
                col(SignInThrottle.first_failed_at) < now - t.window - t.lockout,
                (col(SignInThrottle.locked_until).is_(None))
                | (col(SignInThrottle.locked_until) < now),
            )
        )

    def _locked_minutes(self, s: Session, keys: tuple[str, ...], now: datetime) -> int:
        longest = timedelta(0)
        for key in keys:
            row = s.get(SignInThrottle, key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                longest = max(longest, row.locked_until - now)
        return -(-int(longest.total_seconds()) // 60) if longest else 0

    def _count_failure(self, s: Session, keys: tuple[str, ...], now: datetime) -> None:
        t = self._throttling
        for key in keys:
            row = s.get(SignInThrottle, key)
            if row is None or row.first_failed_at + t.window < now:
                row = row or SignInThrottle(key=key, first_failed_at=now)
                row.failures, row.first_failed_at, row.locked_until = 0, now, None
            row.failures += 1
            limit = (
                t.max_failures
                if key.startswith("user:")
                else t.max_failures_global
                if key == _GLOBAL
                else t.max_failures_per_client
            )
            if row.failures >= limit:
                row.locked_until = now + t.lockout
            s.add(row)
