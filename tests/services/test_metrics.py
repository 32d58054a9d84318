"""Metrics (issue 19): the store's figures as Prometheus series, the process's counters, the
thresholds the alerts use, and the exporter over a real socket. No label may carry a CRN."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, col, func, select

from bridge.audit import record
from bridge.core.audit_events import sign_in_failed
from bridge.counters import AUDIT_EVENTS, HTTP_DURATION, VERIFIED
from bridge.scheduler import audit_verify_job
from bridge.services.metrics import exposition, parse_address, start_exporter
from bridge.store.db import session_scope
from bridge.store.models import Attention, Entry, Notification, SinkBreaker
from tests.builders import FIXTURE_TODAY, MakeWiring
from tests.loopback import local
from tests.web_app import create_app

CRN = re.compile(r"\b[A-Z]\d{6}\b")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_the_store_figures_match_the_store_and_name_no_case(
    make_wiring: MakeWiring, db_url: str
) -> None:
    wiring = make_wiring(db_url, synced=True)
    with session_scope(wiring.engine) as s:
        s.add(Attention(crn="X000001", reason="access_unclear", since=FIXTURE_TODAY))
        s.add(
            SinkBreaker(
                name="visor-http", failures=5, opened_at=FIXTURE_TODAY, updated_at=FIXTURE_TODAY
            )
        )
        s.add(
            Notification(
                kind="entry_overdue",
                dedupe="d1",
                status="failed",
                created_at=FIXTURE_TODAY,
                updated_at=FIXTURE_TODAY,
            )
        )
    text = exposition(wiring.metrics).decode()
    got = samples(text)
    with Session(wiring.engine) as s:
        by_state = dict(s.exec(select(Entry.status, func.count()).group_by(Entry.status)).all())
        overdue = s.exec(
            select(func.count())
            .select_from(Entry)
            .where(
                col(Entry.status).in_(["pending", "claimed", "approved", "failed"]),
                col(Entry.due_date) < FIXTURE_TODAY.date(),
            )
        ).one()
    assert by_state, "the template holds entries"
    for state, n in by_state.items():
        assert got[("bridge_entries", (("state", state),))] == n
    open_total = sum(v for (name, _), v in got.items() if name == "bridge_open_entries")
    assert open_total == sum(
        by_state.get(s, 0) for s in ("pending", "claimed", "approved", "failed")
    )
    assert got[("bridge_entries_overdue", ())] == overdue
    assert got[("bridge_attention_cases", (("reason", "access_unclear"),))] == 1
    assert got[("bridge_breaker_open", (("sink", "visor-http"),))] == 1
    assert got[("bridge_breaker_failures", (("sink", "visor-http"),))] == 5
    assert got[("bridge_notifications", (("status", "failed"),))] == 1
    assert got[("bridge_sync_last_success_timestamp_seconds", ())] > 0
    assert got[("bridge_threshold_sync_stale_seconds", ())] == 6 * 3600
    assert got[("bridge_threshold_vetting_expiry_days", ())] == 30
    assert got[("bridge_store_up", ())] == 1
    # Counts, times and settings only: no CRN anywhere in a scrape.
    assert CRN.findall(text) == []


def test_the_thresholds_follow_the_configuration(make_wiring: MakeWiring, sqlite_url: str) -> None:
    wiring = make_wiring(sqlite_url, notify_sync_stale_hours=3, notify_vetting_days=14)
    got = samples(exposition(wiring.metrics).decode())
    assert got[("bridge_threshold_sync_stale_seconds", ())] == 3 * 3600
    assert got[("bridge_threshold_vetting_expiry_days", ())] == 14


def test_a_store_that_does_not_answer_is_reported_not_raised(
    make_wiring: MakeWiring, sqlite_url: str
) -> None:
    wiring = make_wiring(sqlite_url)
    with wiring.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE attention")
    got = samples(exposition(wiring.metrics).decode())
    assert got[("bridge_store_up", ())] == 0
    assert ("bridge_threshold_sync_stale_seconds", ()) in got


def test_audit_events_are_counted_once_committed_never_when_rolled_back(
    make_wiring: MakeWiring, sqlite_url: str
) -> None:
    wiring = make_wiring(sqlite_url)
    counter = AUDIT_EVENTS.labels(action="sign_in.failed")
    before = counter._value.get()
    with session_scope(wiring.engine) as s:
        record(s, sign_in_failed("web:anonymous", staff=None), at=FIXTURE_TODAY)
    assert counter._value.get() == before + 1
    with session_scope(wiring.engine) as s:
        record(s, sign_in_failed("web:anonymous", staff=None), at=FIXTURE_TODAY)
        s.rollback()
    assert counter._value.get() == before + 1


def test_requests_are_timed_by_route_template_never_by_path(
    make_wiring: MakeWiring, sqlite_url: str
) -> None:
    wiring = make_wiring(sqlite_url)
    client = TestClient(create_app(wiring))
    assert client.get("/healthz").status_code == 200
    client.get("/cases/X123456")  # a CRN in the path: the label is the template
    families = {f.name: f for f in HTTP_DURATION.collect()}
    routes = {s.labels["route"] for s in families["bridge_http_request_duration_seconds"].samples}
    assert "/healthz" in routes
    assert not any("X123456" in r for r in routes)


def test_the_audit_check_is_reported_after_the_scheduler_runs_it(
    make_wiring: MakeWiring, sqlite_url: str
) -> None:
    wiring = make_wiring(sqlite_url, synced=True)
    audit_verify_job(wiring)
    assert VERIFIED.ok is True
    assert VERIFIED.events > 0
    got = samples(exposition(wiring.metrics).decode())
    assert got[("bridge_audit_verify_ok", ())] == 1
    with wiring.engine.begin() as conn:  # a row changed behind the chain's back
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS auditevent_no_update")
        conn.exec_driver_sql("UPDATE auditevent SET actor = 'X' WHERE id = 2")
    audit_verify_job(wiring)
    assert samples(exposition(wiring.metrics).decode())[("bridge_audit_verify_ok", ())] == 0


def test_the_exporter_serves_the_scrape_on_its_own_socket(
    make_wiring: MakeWiring, sqlite_url: str
) -> None:
    wiring = make_wiring(sqlite_url, synced=True)
    host, port = start_exporter(wiring.metrics, "127.0.0.1:0")
    answer = local.get(f"http://{host}:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    names = {f.name for f in text_string_to_metric_families(answer.text)}
    assert {
        "bridge_entries",
        "bridge_open_entries",
        "bridge_sync_runs",
        "process_cpu_seconds",
    } <= names


@pytest.mark.parametrize("bad", ["9464", ":9464", "host:port", ""])
def test_a_bad_metrics_address_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="BRIDGE_METRICS_ADDRESS"):
        parse_address(bad)


def test_an_old_waiting_entry_ages_the_queue(make_wiring: MakeWiring, sqlite_url: str) -> None:
    wiring = make_wiring(sqlite_url, synced=True)
    with session_scope(wiring.engine) as s:
        entry = s.exec(select(Entry).where(col(Entry.status) == "pending")).first()
        assert entry is not None
        entry.created_at = FIXTURE_TODAY - timedelta(days=40)
    got = samples(exposition(wiring.metrics).decode())
    assert got[("bridge_queue_oldest_waiting_age_seconds", ())] >= 40 * 86400
    assert got[("bridge_open_entries", (("age", "over_28d"), ("state", "pending")))] >= 1
