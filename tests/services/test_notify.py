"""GOV.UK Notify messages through the simulator on a loopback socket, on SQLite and PostgreSQL
(issue 16): each kind once for its cause, with its template and content-free personalisation;
opt-outs honoured; digests coalesce; a permanent refusal is shown to administrators; a send
whose answer was lost is looked up, not repeated; a 429 storm converges."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.core.notify_kinds import PERSONALISATION, NotifyKind, demo_template_id, kind_info
from bridge.errors import NotPermitted
from bridge.sinks.breaker import CircuitBreaker
from bridge.store import outbox
from bridge.store.db import session_scope
from bridge.store.models import Entry, Notification, Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, MANAGER, PROXY, PROXY_2, MakeWiring, case_doc, sync_json
from tests.loopback import local
from tests.notify_kit import (
    LINK_BASE,
    fixture_personal_values,
    give_addresses,
    notify_overrides,
    sent,
)

RETURNED_CASE, ENTERED_CASE, ATTENTION_CASE = "B219904", "F600218", "G719053"
CASES = {RETURNED_CASE, ENTERED_CASE, ATTENTION_CASE}


def _entry_ids(w: Wiring, crn: str) -> list[int]:
    with Session(w.engine) as s:
        rows = s.exec(select(Entry.id).where(Entry.crn == crn).order_by(col(Entry.id))).all()
        return [i for i in rows if i is not None]


def _rows(w: Wiring) -> list[Notification]:
    with Session(w.engine) as s:
        return list(s.exec(select(Notification).order_by(col(Notification.id))).all())


def _return_one(w: Wiring, crn: str = RETURNED_CASE) -> int:
    entry = _entry_ids(w, crn)[0]
    w.review.claim(entry, actor=PROXY)
    w.review.reject(entry, actor=PROXY, reason="Dominic Hale's address is wrong")
    return entry


def _enter_all(w: Wiring, crn: str) -> None:
    """Every entry of the case entered, by a proxy it does not exclude (F600218 excludes PROXY)."""
    for entry in _entry_ids(w, crn):
        w.review.claim(entry, actor=PROXY_2)
        w.review.approve(entry, actor=PROXY_2, version=1)
        w.review.mark_entered(entry, actor=PROXY_2, reference="VIS-12345")


def _two_open_managers(crn: str) -> dict[str, Any]:
    doc = case_doc(crn)
    first = doc["offender"]["offenderManagers"][0]
    first.pop("active", None)
    first.pop("toDate", None)
    second = copy.deepcopy(first)
    second["staff"]["code"] = "N02A099"
    doc["offender"]["offenderManagers"] = [first, second]
    return doc


@pytest.fixture
def wiring(db_url: str, ndelius_url: str, notify_url: str, make_wiring: MakeWiring) -> Wiring:
    w = make_wiring(db_url, ndelius_url, synced=CASES, **notify_overrides(notify_url))
    give_addresses(w)
    return w


def test_each_kind_is_sent_once_for_its_cause_with_its_template(
    wiring: Wiring, ndelius_url: str, notify_url: str, clock: FixedClock
) -> None:
    w = wiring
    # Events, each written with its cause.
    _return_one(w)
    _enter_all(w, ENTERED_CASE)  # several entries, one message for the case that day
    breaker = CircuitBreaker(
        w.engine, name="visor-http", threshold=2, cooldown_seconds=60, clock=clock
    )
    for _ in range(4):  # opens once; a failed half-open trial re-opens without a message
        breaker.record_failure()
        clock.advance(61)
    local.put(
        f"{ndelius_url}/__admin/cases/{ATTENTION_CASE}", json=_two_open_managers(ATTENTION_CASE)
    ).raise_for_status()
    sync_json(w)
    sync_json(w)  # still on the list: no second message
    # Time-based, on two days: the day before the tasks fall due, then after.
    with session_scope(w.engine) as s:
        s.execute(
            update(Staff)
            .where(col(Staff.code) == PROXY_2)
            .values(vetting_expires=clock.now().date() + timedelta(days=12))
        )
    with Session(w.engine) as s:
        due = min(s.exec(select(Entry.due_date).where(Entry.crn == RETURNED_CASE)).all())
    clock.current = clock.current.replace(year=due.year, month=due.month, day=due.day)
    clock.advance(-86_400)
    w.notify_due.run()
    assert w.notify_due.run() == {}  # the same day again: nothing new
    clock.advance(5 * 86_400)
    w.notify_due.run()

    result = w.notify().send()
    assert result is not None
    assert (result.sent, result.failed, result.found) == (len(_rows(w)), 0, 0)
    assert w.notify().send() == type(result)()  # nothing twice

    messages = sent(notify_url)
    by_template = {demo_template_id(k): k for k in NotifyKind}
    kinds = Counter((by_template[m["template_id"]], m["email_address"]) for m in messages)
    officer, admin = f"{MANAGER.lower()}@justice.example", f"{ADMIN.lower()}@justice.example"
    proxies = [f"{p.lower()}@justice.example" for p in (PROXY, PROXY_2)]
    assert kinds == Counter(
        {
            (NotifyKind.ENTRY_RETURNED, officer): 1,
            (NotifyKind.CASE_ENTERED, officer): 1,
            (NotifyKind.ENTRY_OVERDUE, officer): 1,
            (NotifyKind.BREAKER_OPEN, admin): 1,
            (NotifyKind.ATTENTION, admin): 1,
            (NotifyKind.VETTING_EXPIRING, admin): 1,
            (NotifyKind.SYNC_STALE, admin): 1,
            **{(NotifyKind.TASKS_DUE_TOMORROW, p): 1 for p in proxies},
            **{(NotifyKind.PROXY_DIGEST, p): 2 for p in proxies},  # one a day, two days
        }
    )
    for message in messages:
        kind = by_template[message["template_id"]]
        assert set(message["personalisation"]) == set(PERSONALISATION[kind])
        assert message["personalisation"]["link"].startswith(LINK_BASE)
    returned = next(m for m in messages if by_template[m["template_id"]] == "entry_returned")
    assert returned["personalisation"]["crn"] == RETURNED_CASE
    vetting = next(m for m in messages if by_template[m["template_id"]] == "vetting_expiring")
    assert vetting["personalisation"]["staff_code"] == PROXY_2
    assert len({m["reference"] for m in messages}) == len(messages)

    # Nothing personal in any message: no name, date of birth, postcode or PNC of any fixture.
    personal = fixture_personal_values()
    assert "hale" in personal  # the check sees the names it guards against
    assert "1984-03-12" in personal or any(v[:2] in ("19", "20") for v in personal)
    for message in messages:
        link = message["personalisation"]["link"]
        assert re.fullmatch(rf"{LINK_BASE}(/[a-z]+)+(/[A-Z]\d{{6}})?", link), link
        values = [str(v).lower() for k, v in message["personalisation"].items() if k != "link"]
        shown = (message["subject"] + " " + message["body"]).lower().replace(LINK_BASE, "")
        kind = by_template[message["template_id"]]
        static = (kind_info(kind).subject + " " + kind_info(kind).body).lower()
        for value in personal:
            assert all(value not in v for v in values), (value, message["personalisation"])
            # ("Staff" is a fixture surname and a word of our own text: only what was filled in.)
            assert value in static or value not in shown, value


def test_opt_outs_are_honoured_before_and_after_the_row_is_written(
    wiring: Wiring, notify_url: str
) -> None:
    w = wiring
    kinds = dict(w.notify().kinds_for(MANAGER))
    assert set(kinds) == {"entry_returned", "case_entered", "entry_overdue"}
    assert all(kinds.values())
    w.notify().set_kinds(MANAGER, on={"case_entered", "entry_overdue"})
    assert dict(w.notify().kinds_for(MANAGER))["entry_returned"] is False
    _return_one(w)
    assert _rows(w) == []  # turned off: not even written

    _enter_all(w, ENTERED_CASE)
    assert [r.kind for r in _rows(w)] == ["case_entered"]
    w.notify().set_kinds(MANAGER, on=set())  # turned off after it was written
    result = w.notify().send()
    assert result is not None
    assert (result.sent, result.skipped) == (0, 1)
    assert sent(notify_url) == []
    assert _rows(w)[0].reason == "the recipient turned this kind off"
    # Only their own kinds: a kind of another audience is ignored.
    w.notify().set_kinds(MANAGER, on={"attention"})
    assert not any(on for _, on in w.notify().kinds_for(MANAGER))


def test_without_a_key_nothing_is_written_or_sent(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = make_wiring(db_url, ndelius_url, synced=CASES)
    give_addresses(w)
    _return_one(w)
    assert _rows(w) == []
    result = w.notify().send()
    assert result is not None
    assert result.stopped is not None
    assert result.sent == 0


def test_a_permanent_refusal_fails_the_row_with_notifys_reason(
    db_url: str, ndelius_url: str, notify_url: str, make_wiring: MakeWiring
) -> None:
    strict = "1f0c7a44-9d0b-4d6e-8d61-3c4b6a2e9f10"
    local.post(
        f"{notify_url}/__admin/templates",
        json={"id": strict, "personalisation": ["crn", "link", "first_name"]},
    ).raise_for_status()
    overrides = notify_overrides(notify_url, notify_template_entry_returned=strict)
    w = make_wiring(db_url, ndelius_url, synced=CASES, **overrides)
    give_addresses(w)
    _return_one(w)
    result = w.notify().send()
    assert result is not None
    assert (result.sent, result.failed) == (0, 1)
    failed = w.notify().failed(admin=ADMIN)
    assert [(f.kind, f.recipient, f.crn) for f in failed] == [
        ("entry_returned", MANAGER, RETURNED_CASE)
    ]
    assert failed[0].reason == "400 BadRequestError: Missing personalisation: first_name"
    with pytest.raises(NotPermitted):
        w.notify().failed(admin=PROXY)
    assert w.notify().send() == type(result)()  # failed for good: not tried again


def test_a_send_whose_answer_was_lost_is_looked_up_not_repeated(
    wiring: Wiring, notify_url: str
) -> None:
    w = wiring
    _return_one(w)
    row = _rows(w)[0]
    reference = f"vb-lost-{row.id}"
    with session_scope(w.engine) as s:  # as a sender that died after Notify took it
        s.execute(
            update(Notification)
            .where(col(Notification.id) == row.id)
            .values(status="sending", reference=reference, attempts=1)
        )
    client = w.notify_client()
    client.send_email("x@justice.example", demo_template_id("entry_returned"),
                      row.personalisation, reference)  # fmt: skip
    client.close()
    result = w.notify().send()
    assert result is not None
    assert (result.found, result.sent) == (1, 0)
    assert len(sent(notify_url)) == 1
    assert _rows(w)[0].status == "sent"


def test_a_429_storm_converges_every_message_once(
    wiring: Wiring, notify_url: str, clock: FixedClock
) -> None:
    w = wiring
    with session_scope(w.engine) as s:
        for n in range(30):
            outbox.enqueue(
                s,
                NotifyKind.CASE_ENTERED,
                to=[MANAGER],
                crn="F600218",
                values={"crn": "F600218", "link": f"{LINK_BASE}/cases/F600218"},
                dedupe=f"storm:{n}",
                now=clock.now(),
            )
    body = {
        "status_code": 429,
        "errors": [
            {
                "error": "RateLimitError",
                "message": "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
            }
        ],
    }
    local.post(
        f"{notify_url}/__admin/faults",
        json={"path": "^/v2/notifications", "status": 429, "body": json.dumps(body),
              "rate": 0.7, "seed": 7},
    ).raise_for_status()  # fmt: skip
    runs, waits = 0, []
    while any(r.status != "sent" for r in _rows(w)):
        runs += 1
        assert runs <= 20, "the storm did not converge"
        result = w.notify().send()
        assert result is not None
        waits += result.waits
    references = [m["reference"] for m in sent(notify_url)]
    assert len(references) == 30 == len(set(references))
    assert waits
    assert min(waits) == pytest.approx(60 / 3000)
    assert clock.slept == waits  # waited on the injected clock, never for real
    today = clock.now().date()
    assert isinstance(today, date)


def test_a_refused_key_stops_the_run_and_fails_no_message(
    db_url: str, ndelius_url: str, notify_url: str, make_wiring: MakeWiring
) -> None:
    other_key = "other-5a1c4f0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b-6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"
    overrides = notify_overrides(notify_url, notify_api_key=SecretStr(other_key))
    w = make_wiring(db_url, ndelius_url, synced=CASES, **overrides)
    give_addresses(w)
    _return_one(w)
    _return_one(w, ATTENTION_CASE)
    result = w.notify().send()
    assert result is not None
    assert (result.sent, result.failed, result.left) == (0, 0, 2)
    assert result.stopped is not None
    assert result.stopped.startswith("403 AuthError")
    assert {r.status for r in _rows(w)} == {"sending", "queued"}  # kept for the next run
    assert sent(notify_url) == []


def test_outbox_rows_are_erased_with_their_case_and_purged_once_delivered(
    wiring: Wiring, clock: FixedClock
) -> None:
    from bridge.services.sync.erasure import erase_case

    w = wiring
    _return_one(w)
    _return_one(w, ATTENTION_CASE)
    assert w.notify().send() is not None
    _enter_all(w, ENTERED_CASE)  # queued, not yet sent
    with session_scope(w.engine) as s:
        erase_case(s, RETURNED_CASE, now=clock.now(), actor="test")
    assert {r.crn for r in _rows(w)} == {ATTENTION_CASE, ENTERED_CASE}
    clock.advance(91 * 86_400)
    w.retention.run()
    # The delivered row went after the content period; the one still to deliver stays.
    assert [(r.crn, r.status) for r in _rows(w)] == [(ENTERED_CASE, "queued")]


def test_notifys_own_rate_limit_is_honoured_without_losing_or_repeating_a_message(
    db_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    """The simulator's token bucket (30 a minute, 11 at once) refills on the test's clock, which
    the sender's waits advance: 40 messages go, each once, after about a minute of waiting."""
    from bridge.sim import notify as notify_sim
    from bridge.sim.server import serve_in_thread

    app = notify_sim.create_app(
        rate_limit_per_minute=30, rate_clock=lambda: clock.now().timestamp()
    )
    with serve_in_thread(app) as url:
        w = make_wiring(db_url, **notify_overrides(url, notify_max_wait_seconds=10))
        give_addresses(w)
        with session_scope(w.engine) as s:
            for n in range(40):
                outbox.enqueue(
                    s,
                    NotifyKind.CASE_ENTERED,
                    to=[MANAGER],
                    crn="F600218",
                    values={"crn": "F600218", "link": f"{LINK_BASE}/cases/F600218"},
                    dedupe=f"paced:{n}",
                    now=clock.now(),
                )
        started = clock.now()
        for _ in range(10):
            result = w.notify().send()
            assert result is not None
            if not any(r.status != "sent" for r in _rows(w)):
                break
        references = [m["reference"] for m in sent(url)]
    assert len(references) == 40 == len(set(references))
    assert min(clock.slept) == pytest.approx(2.0)  # 60 s / 30: one request's worth of the window
    assert (clock.now() - started).total_seconds() >= (40 - 11) * 2  # the bucket's pace
