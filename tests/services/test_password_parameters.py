"""Passwords are hashed with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1), and a
hash made with others (the library's defaults, before) still signs in and is upgraded then."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlmodel import Session

from bridge.services.accounts import AccountService, password_hasher
from bridge.store.models import Staff
from bridge.wiring import Wiring
from tests.builders import PROXY, MakeWiring

PASSWORD = "the-right-passphrase"


@pytest.fixture
def store(db_url: str, ndelius_url: str, make_wiring: MakeWiring) -> Wiring:
    return make_wiring(db_url, ndelius_url)


def _stored(w: Wiring) -> str:
    with Session(w.engine) as s:
        staff = s.get(Staff, PROXY)
        assert staff is not None
        assert staff.password_hash
        return staff.password_hash


def test_the_parameters_are_owasps() -> None:
    hashed = password_hasher().hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_an_older_hash_signs_in_and_is_upgraded(store: Wiring) -> None:
    accounts = AccountService(engine=store.engine, clock=store.clock)
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # any other parameters
    with Session(store.engine) as s:
        staff = s.get(Staff, PROXY)
        assert staff is not None
        staff.password_hash = old.hash(PASSWORD)
        s.add(staff)
        s.commit()
    assert accounts.sign_in(PROXY, PASSWORD, client="10.0.0.1")
    upgraded = _stored(store)
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert password_hasher().verify(upgraded, PASSWORD)
    with pytest.raises(VerificationError):
        password_hasher().verify(upgraded, "not-the-password")
    assert accounts.sign_in(PROXY, PASSWORD, client="10.0.0.1")  # and again, as it is
    assert _stored(store) == upgraded
