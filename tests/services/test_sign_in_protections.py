"""Sign-in protections (issue 18): unknown names take as long as known ones, a global failure
budget, and throttled attempts leave at most one audit row per name, never the typed text."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from bridge.services.accounts import (
    AccountService,
    SignInRefused,
    SignInThrottled,
    Throttling,
    username_digest,
)
from bridge.store.models import AuditEvent
from bridge.wiring import Wiring
from tests.builders import PROXY, PROXY_2, MakeWiring

PASSWORD = "the-right-passphrase"


class CountingHasher(PasswordHasher):
    """argon2's hasher, counting verifications (a subclass injected, not a patch)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def store(db_url: str, ndelius_url: str, make_wiring: MakeWiring) -> Wiring:
    return make_wiring(db_url, ndelius_url)


def _service(w: Wiring, **throttling: Any) -> tuple[AccountService, CountingHasher]:
    hasher = CountingHasher()
    accounts = AccountService(
        engine=w.engine,
        clock=w.clock,
        hasher=hasher,
        throttling=Throttling(**throttling),
        name_key=b"k" * 32,
    )
    accounts.set_password(PROXY, PASSWORD, actor="system:cli")
    return accounts, hasher


def _throttled_details(w: Wiring) -> list[dict[str, Any]]:
    with Session(w.engine) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "sign_in.throttled")
            .order_by(col(AuditEvent.id))
        ).all()
        return [dict(r.detail) for r in rows]


def test_an_unknown_name_is_verified_against_a_dummy_hash(store: Wiring) -> None:
    """Before: argon2 ran only for known names (~300 ms against ~30 ms)."""
    accounts, hasher = _service(store)
    for name in ("NOBODY1", PROXY_2, PROXY):  # unknown, known with no password, known
        before = hasher.verified
        with pytest.raises(SignInRefused):
            accounts.sign_in(name, "not-the-password", client="10.0.0.1")
        assert hasher.verified == before + 1, name


def test_a_global_failure_budget_throttles_every_sign_in(store: Wiring) -> None:
    accounts, _ = _service(store, max_failures_global=3)
    for i in range(3):  # three names from three addresses: no per-name or per-address lock
        with pytest.raises(SignInRefused):
            accounts.sign_in(f"NAME{i}", "guess", client=f"10.0.0.{i}")
    with pytest.raises(SignInThrottled):
        accounts.sign_in(PROXY, PASSWORD, client="10.9.9.9")


def test_throttled_attempts_record_a_hash_of_the_typed_name_once(store: Wiring) -> None:
    accounts, _ = _service(store, max_failures_per_client=2)
    typed = "my secret password"  # typed into the username box
    for _ in range(2):
        with pytest.raises(SignInRefused):
            accounts.sign_in(typed, "x", client="10.0.0.7")
    for _ in range(5):
        with pytest.raises(SignInThrottled):
            accounts.sign_in(typed, "x", client="10.0.0.7")
        with pytest.raises(SignInThrottled):
            accounts.sign_in(PROXY, PASSWORD, client="10.0.0.7")
    details = _throttled_details(store)
    code = typed.strip().upper()[:16]
    assert details == [{"username_hash": username_digest(code, b"k" * 32)}, {"staff": PROXY}]
    assert username_digest(code, b"k" * 32) != username_digest(code)  # keyed
    with Session(store.engine) as s:
        logged = " ".join(str(e.detail) for e in s.exec(select(AuditEvent)))
    assert "SECRET" not in logged.upper()


def test_a_session_in_use_records_its_last_use_at_most_once_a_minute(store: Wiring) -> None:
    """SQLite and PostgreSQL (there, on the reading connection in autocommit): a use after a
    minute records the time, a use within it does not, and a session in use outlives the idle
    timeout counted from signing in."""
    from datetime import timedelta

    from bridge.clock import FixedClock
    from bridge.store.models import WebSession

    clock = store.clock
    assert isinstance(clock, FixedClock)
    accounts, _hasher = _service(store)
    token = accounts.sign_in(PROXY, PASSWORD, client="203.0.113.9")
    signed_in = clock.now()

    def last_use() -> Any:
        with Session(store.engine) as s:
            return s.exec(select(WebSession.last_seen_at)).one()

    clock.advance(30)
    assert accounts.session_staff(token) is not None
    assert abs(last_use() - signed_in) < timedelta(seconds=1)  # within the minute: not written
    clock.advance(20 * 60)
    assert accounts.session_staff(token) is not None
    assert abs(last_use() - clock.now()) < timedelta(seconds=1)
    clock.advance(20 * 60)  # 40 minutes after signing in, 20 after the last use
    person = accounts.session_staff(token)
    assert person is not None
    assert person.code == PROXY
