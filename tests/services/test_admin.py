"""Administrators: move claims, see cases nobody may take and vetting about to lapse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from bridge.clock import FixedClock
from bridge.errors import BadInput, NotPermitted, WrongState
from bridge.store.models import Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, EXPIRED_PROXY, PROXY, PROXY_2, MakeWiring

CASES = {"B203456", "F600218", "N480937"}


def _synced(make_wiring: MakeWiring, db_url: str, ndelius_url: str) -> Wiring:
    return make_wiring(db_url, ndelius_url, synced=CASES)  # as after a sync of CASES


def _first(w: Wiring, crn: str) -> int:
    return int(next(r.id for r in w.queue.listing() if r.crn == crn))


def _set_vetting(w: Wiring, code: str, expires_in_days: int, clock: FixedClock) -> None:
    with Session(w.engine) as s:
        staff = s.get(Staff, code)
        assert staff is not None
        staff.vetting_expires = clock.now().date() + timedelta(days=expires_in_days)
        s.add(staff)
        s.commit()


def test_force_release_and_reassign(db_url: str, ndelius_url: str, make_wiring: MakeWiring) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry = _first(w, "B203456")
    w.review.claim(entry, actor=PROXY)
    with pytest.raises(NotPermitted):
        w.admin.force_release(entry, actor=PROXY)  # proxies are not administrators
    assert w.admin.force_release(entry, actor=ADMIN).status == "pending"
    with pytest.raises(WrongState):
        w.admin.force_release(entry, actor=ADMIN)

    moved = w.admin.reassign(entry, to=PROXY_2, actor=ADMIN)
    assert moved.status == "claimed"
    assert w.review.approve(entry, actor=PROXY_2).status == "approved"
    with pytest.raises(WrongState):
        w.admin.reassign(entry, to=PROXY, actor=ADMIN)  # approved: no longer open

    excluded = _first(w, "F600218")  # N07P004 is excluded from this case
    with pytest.raises(BadInput, match="may not work on this case"):
        w.admin.reassign(excluded, to=PROXY, actor=ADMIN)
    with pytest.raises(BadInput, match="current vetting"):
        w.admin.reassign(excluded, to=EXPIRED_PROXY, actor=ADMIN)


def test_cases_no_current_proxy_may_take_are_listed_with_why(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    assert w.admin.untakeable(actor=ADMIN) == []
    _set_vetting(w, PROXY_2, -1, clock)  # only N07P004 is a current proxy now

    rows = {r.crn: r for r in w.admin.untakeable(actor=ADMIN)}
    assert set(rows) == {"F600218", "N480937"}
    assert rows["F600218"].why == "limited access: every current proxy is excluded"
    assert rows["N480937"].why.startswith("limited access: restricted")
    assert rows["F600218"].open_entries >= 1
    with pytest.raises(NotPermitted):
        w.admin.untakeable(actor=PROXY)


def test_vetting_that_lapses_within_30_days(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, sqlite_url, ndelius_url)
    _set_vetting(w, PROXY_2, 10, clock)
    rows = w.admin.expiring_vetting(actor=ADMIN)
    assert [(r.code, r.expired) for r in rows] == [(EXPIRED_PROXY, True), (PROXY_2, False)]
    assert [r.code for r in w.admin.expiring_vetting(actor=ADMIN, days=400)][-1] == PROXY


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://app@db/bridge?password=s3cret-pw", "postgresql+psycopg://app@db/bridge?password=***"),
        ("postgresql+psycopg://app:s3cret-pw@db/bridge?sslmode=require&sslpassword=s3cret-pw",
         "postgresql+psycopg://app:***@db/bridge?sslmode=require&sslpassword=***"),
        ("http://127.0.0.1:8082/?api_key=s3cret-pw&x=1", "http://127.0.0.1:8082/?api_key=***&x=1"),
        ("http://127.0.0.1:8082/?PassWord=s3cret-pw", "http://127.0.0.1:8082/?PassWord=***"),
    ],
)  # fmt: skip
def test_a_password_in_a_urls_query_is_masked(url: str, shown: str) -> None:
    """Issue 18: a `?password=` in a URL was shown on the configuration page."""
    from bridge.config import Settings
    from bridge.services.admin import masked_configuration

    rows = {
        r.name: r.value
        for r in masked_configuration(Settings(environment="development", database_url=url))
    }
    assert rows["BRIDGE_DATABASE_URL"] == shown
    assert "s3cret-pw" not in str(rows)
