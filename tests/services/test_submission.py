"""Submission to the ViSOR simulator and the drop folder, on SQLite and PostgreSQL.

Real parts only: a real sync of fixture cases, real approvals, the ViSOR simulator over
loopback and a FixedClock for every wait, so nothing sleeps for real.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bridge.audit import verify_chain
from bridge.clock import FixedClock
from bridge.config import default_mappings_dir
from bridge.core.failure_text import FAILED_PHRASE, text_digest
from bridge.errors import NotPermitted, WrongState
from bridge.scheduler import build_scheduler, submit_job
from bridge.services.submission import SubmitResult
from bridge.sim import visor as visor_sim
from bridge.sim.server import serve_in_thread
from bridge.sinks.file_drop import MANIFEST, drop_name
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Entry, SinkBreaker
from bridge.wiring import Wiring
from tests.builders import MANAGER, PROXY, MakeWiring, only_cases, sync_json
from tests.loopback import local

PLAIN = "B219904"  # seven entries, none with a blocking issue


def approve_all(wiring: Wiring, ndelius_url: str, crns: set[str]) -> list[int]:
    """Sync the cases and approve every entry without a blocking issue; their ids."""
    only_cases(ndelius_url, crns)
    sync_json(wiring)
    ids = []
    for row in wiring.queue.listing("pending"):
        if not any(issue["blocking"] for issue in row.issues):
            wiring.review.claim(row.id, actor=PROXY)
            wiring.review.approve(row.id, actor=PROXY)
            ids.append(row.id)
    assert ids
    return ids


def submit(wiring: Wiring) -> SubmitResult:
    with wiring.submission() as service:
        return service.run()


def entries(wiring: Wiring, ids: list[int] | None = None) -> list[Entry]:
    with Session(wiring.engine) as s:
        stmt = select(Entry).order_by(col(Entry.id))
        if ids is not None:
            stmt = stmt.where(col(Entry.id).in_(ids))
        return list(s.exec(stmt))


def statuses(wiring: Wiring, ids: list[int]) -> set[str]:
    return {e.status for e in entries(wiring, ids)}


def audit(wiring: Wiring, action: str) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        return list(s.exec(stmt))


def records(visor: str, crn: str) -> list[dict[str, Any]]:
    got = local.get(f"{visor}/records", params={"crn": crn})
    got.raise_for_status()
    return list(got.json()["records"])


def fault(visor: str, **spec: Any) -> None:
    local.post(f"{visor}/__admin/faults", json={"path": "^/records$", **spec}).raise_for_status()


def fault_hits(visor: str) -> int:
    return sum(f["hits"] for f in local.get(f"{visor}/__admin/faults").json()["faults"])


@pytest.fixture
def visor_on_clock(clock: FixedClock) -> Iterator[str]:
    """A ViSOR simulator of our own on the test's FixedClock: its fault windows pass when the
    bridge's retry waits advance that clock (the shared server runs on the real clock)."""
    app = visor_sim.create_app(schema_path=default_mappings_dir() / "visor-record.xsd", clock=clock)
    with serve_in_thread(app) as url:
        yield url


# -- visor-http ---------------------------------------------------------------------------


def test_an_outage_of_30_seconds_ends_with_every_entry_accepted_exactly_once(
    db_url: str,
    ndelius_url: str,
    make_wiring: MakeWiring,
    clock: FixedClock,
    visor_on_clock: str,
) -> None:
    w = make_wiring(
        db_url,
        ndelius_url,
        sink="visor-http",
        visor_url=visor_on_clock,
        http_attempts=3,
        http_max_wait_seconds=4,
        breaker_threshold=3,
        breaker_cooldown_seconds=10,
    )
    ids = approve_all(w, ndelius_url, {PLAIN})
    fault(visor_on_clock, status=503, seconds=30)

    runs = [submit(w)]
    while statuses(w, ids) != {"accepted"} and len(runs) < 10:
        clock.advance(10)  # the cool-down: the next run tries one delivery first
        runs.append(submit(w))

    first = runs[0]
    assert (first.attempted, first.accepted, first.skipped, first.breaker) == (
        3,
        0,
        len(ids),
        "open",
    )
    assert 1 < len(runs) < 10
    assert sum(r.accepted for r in runs) == len(ids)
    assert runs[-1].breaker == "closed"
    assert clock.slept
    assert max(clock.slept) <= 4
    done = entries(w, ids)
    assert {e.entered_at for e in done} == {clock.now().date()}
    held = records(visor_on_clock, PLAIN)
    assert len(held) == len(ids)  # exactly once: no duplicate, none missing
    assert {r["reference"] for r in held} == {e.visor_reference for e in done}
    assert len(audit(w, "entry.accepted")) == len(ids)
    with Session(w.engine) as s:
        assert verify_chain(s) is None


def test_a_run_that_died_mid_request_is_resent_with_the_same_key(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, visor_url: str
) -> None:
    w = make_wiring(db_url, ndelius_url, sink="visor-http", visor_url=visor_url)
    ids = approve_all(w, ndelius_url, {PLAIN})
    # What a killed run leaves: the entry marked submitted, and ViSOR holding its record.
    with session_scope(w.engine) as s:
        orphan = s.get(Entry, ids[0])
        assert orphan is not None
        assert orphan.xml is not None
        orphan.status = "submitted"
        s.add(orphan)
    first = local.post(
        f"{visor_url}/records",
        content=orphan.xml.encode(),
        headers={"Idempotency-Key": f"{orphan.id}-v{orphan.version}"},
    )
    assert first.status_code == 201

    result = submit(w)
    assert (result.attempted, result.accepted, result.failed) == (len(ids), len(ids), 0)
    assert entries(w, [ids[0]])[0].visor_reference == first.json()["reference"]
    assert len(records(visor_url, PLAIN)) == len(ids)
    resent = [a for a in audit(w, "entry.submitted") if a.entry_id == ids[0]]
    assert [a.detail["resend"] for a in resent] == [True]
    assert submit(w).attempted == 0  # nothing left to send


def test_a_422_fails_the_entry_with_the_reason_and_requeue_delivers_it(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, visor_url: str
) -> None:
    w = make_wiring(db_url, ndelius_url, sink="visor-http", visor_url=visor_url)
    ids = approve_all(w, ndelius_url, {PLAIN})
    message = (
        "line 4: Element '{urn:visor-bridge:visor:v1}Surname': [facet 'maxLength'] "
        "The value 'Confidential Surname' is too long."
    )
    fault(visor_url, status=422, count=1, body=json.dumps({"errors": [message]}))

    result = submit(w)
    assert (result.attempted, result.accepted, result.failed) == (len(ids), len(ids) - 1, 1)
    assert result.breaker == "closed"  # a refused record says ViSOR is up
    [failed] = result.failures
    assert failed.id == ids[0]
    assert failed.reason == FAILED_PHRASE  # an operator's output: the fixed phrase
    [row] = w.queue.listing("failed")
    assert row.id == ids[0]
    # kept on the entry for proxies: element names and facets only, never the value
    stored = entries(w, [ids[0]])[0].reason
    assert stored == "ViSOR rejected the record (HTTP 422): Surname: maxLength"
    [event] = audit(w, "entry.failed")
    assert event.category == "alteration"
    assert event.detail == {"reason_sha256": text_digest(stored)}  # a hash, never the text

    with pytest.raises(NotPermitted):
        w.requeue.requeue(ids[0], actor=MANAGER)
    with pytest.raises(WrongState):
        w.requeue.requeue(ids[1], actor=PROXY)  # accepted, not failed
    assert submit(w).attempted == 0  # a failed entry is not retried on its own
    back = w.requeue.requeue(ids[0], actor=PROXY)
    assert back.status == "approved"

    again = submit(w)
    assert (again.attempted, again.accepted) == (1, 1)
    assert statuses(w, ids) == {"accepted"}
    assert len(records(visor_url, PLAIN)) == len(ids)
    assert entries(w, [ids[0]])[0].reason is None


def test_the_breaker_opens_half_opens_and_is_shared_between_processes(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, visor_url: str, clock: FixedClock
) -> None:
    options = {
        "sink": "visor-http",
        "visor_url": visor_url,
        "http_attempts": 2,
        "breaker_threshold": 2,
        "breaker_cooldown_seconds": 60,
    }
    w = make_wiring(db_url, ndelius_url, **options)
    ids = approve_all(w, ndelius_url, {PLAIN})
    fault(visor_url, status=503, count=1000)

    opened = submit(w)
    assert (opened.attempted, opened.skipped, opened.breaker) == (2, len(ids), "open")
    assert fault_hits(visor_url) == 4  # two entries, two attempts each, then it stopped
    assert statuses(w, ids) == {"submitted", "approved"}

    other = make_wiring(db_url, ndelius_url, **options)  # another process, same database
    still = submit(other)
    assert (still.attempted, still.skipped, still.breaker) == (0, len(ids), "open")
    assert fault_hits(visor_url) == 4  # not one request while open

    clock.advance(60)
    with Session(w.engine) as s:
        row = s.get(SinkBreaker, "visor-http")
        assert row is not None
        assert row.failures == 2
    with w.submission() as service:
        trial = service.run()
    assert (trial.attempted, trial.breaker) == (1, "open")  # one trial, failed: open again
    assert fault_hits(visor_url) == 6

    local.delete(f"{visor_url}/__admin/faults").raise_for_status()
    assert submit(other).attempted == 0  # the cool-down started again at the failed trial
    clock.advance(60)
    closed = submit(other)
    assert (closed.accepted, closed.breaker) == (len(ids), "closed")
    assert len(records(visor_url, PLAIN)) == len(ids)


def test_scheduled_submit_runs_once_per_tick_and_only_for_an_automatic_sink(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, visor_url: str, clock: FixedClock
) -> None:
    manual = make_wiring(sqlite_url, ndelius_url)
    jobs = [j.id for j in build_scheduler(manual).get_jobs()]
    assert jobs == ["ndelius-sync", "claims-expiry", "audit-verify", "retention"]
    w = make_wiring(
        sqlite_url,
        ndelius_url,
        sink="visor-http",
        visor_url=visor_url,
        http_attempts=1,
        breaker_cooldown_seconds=0,  # so only the tick can hold the second call back
    )
    jobs = [j.id for j in build_scheduler(w).get_jobs()]
    assert jobs == ["ndelius-sync", "claims-expiry", "visor-submit", "audit-verify", "retention"]
    ids = approve_all(w, ndelius_url, {PLAIN})
    fault(visor_url, status=503, count=1000)
    submit_job(w)  # claims the tick, ViSOR is down: entries stay for a later tick
    local.delete(f"{visor_url}/__admin/faults").raise_for_status()
    submit_job(w)  # the same tick: another instance would skip it too
    assert "accepted" not in statuses(w, ids)
    clock.advance(w.settings.submit_interval_seconds)
    submit_job(w)
    assert statuses(w, ids) == {"accepted"}


# -- file-drop ------------------------------------------------------------------------------


def _manifest(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]


def test_file_drop_writes_each_entry_version_once_atomically(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    w = make_wiring(db_url, ndelius_url, sink="file-drop", drop_dir=drop)
    ids = approve_all(w, ndelius_url, {PLAIN})
    first, second = entries(w, ids[:2])
    # A run that died after writing the first file (before its manifest line and its state),
    # and one that died mid-way through a temporary file and a manifest line of the second.
    sink = w.sink()
    assert sink is not None
    sink.deliver(first)
    sink.close()
    (drop / f".{drop_name(second)}.4242.tmp").write_bytes(b"<Rec")
    (drop / MANIFEST).write_text('{"entry_id": 1, "vers', encoding="utf-8")
    kept = (drop / drop_name(first)).stat()

    result = submit(w)
    assert (result.attempted, result.submitted, result.accepted) == (len(ids), len(ids), 0)
    assert statuses(w, ids) == {"submitted"}
    assert (drop / drop_name(first)).stat().st_ino == kept.st_ino  # not written again
    names = sorted(p.name for p in drop.iterdir())
    assert names == sorted([MANIFEST, *(drop_name(e) for e in entries(w, ids))])  # no temp file
    manifest = _manifest(drop)
    assert sorted(m["entry_id"] for m in manifest) == ids
    for e in entries(w, ids):
        assert e.xml is not None
        path = drop / drop_name(e)
        assert path.read_bytes() == e.xml.encode()
        assert os.stat(path).st_mode & 0o777 == 0o600
        [line] = [m for m in manifest if m["entry_id"] == e.id]
        assert line["version"] == e.version
        assert line["section"] == e.section
        assert (line["crn"], line["kind"], line["file"]) == (e.crn, e.kind, path.name)
        assert len(line["sha256"]) == 64
        assert line["written_at"].startswith("2026-11-23")

    again = submit(w)
    assert (again.attempted, again.submitted) == (0, 0)
    assert len(_manifest(drop)) == len(ids)
    assert len(audit(w, "entry.submitted")) == len(ids)

    # A proxy confirms what ViSOR imported by recording its reference.
    done = w.review.mark_entered(ids[0], actor=PROXY, reference="VIS-00000042")
    assert done.status == "accepted"


def test_file_drop_refuses_to_overwrite_a_different_file(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    w = make_wiring(sqlite_url, ndelius_url, sink="file-drop", drop_dir=drop)
    ids = approve_all(w, ndelius_url, {PLAIN})
    [first] = entries(w, ids[:1])
    (drop / drop_name(first)).write_text("<something-else/>", encoding="utf-8")
    result = submit(w)
    assert (result.failed, result.submitted) == (1, len(ids) - 1)
    assert result.failures[0].reason == FAILED_PHRASE
    assert "already exists" in (entries(w, ids[:1])[0].reason or "")
    assert (drop / drop_name(first)).read_text(encoding="utf-8") == "<something-else/>"


def test_file_drop_never_writes_the_manifest_through_a_link(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, tmp_path: Path
) -> None:
    """Issue 18: a symlink planted as manifest.jsonl was followed (the lines, with CRNs, went
    wherever it pointed). Now the open fails and the entries wait for the next run."""
    drop = tmp_path / "drop"
    drop.mkdir()
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("untouched\n", encoding="utf-8")
    (drop / MANIFEST).symlink_to(elsewhere)
    w = make_wiring(sqlite_url, ndelius_url, sink="file-drop", drop_dir=drop)
    ids = approve_all(w, ndelius_url, {PLAIN})
    result = submit(w)
    assert result.submitted == 0
    assert elsewhere.read_text(encoding="utf-8") == "untouched\n"
    assert statuses(w, ids) == {"approved"}
    (drop / MANIFEST).unlink()  # the link removed: the next run delivers
    assert submit(w).submitted == len(ids)
    assert not (drop / MANIFEST).is_symlink()
