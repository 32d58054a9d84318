"""`visor-bridge scheduler`: one run per tick across instances, no overlap, a stop finishes the page.

The rules are tested in-process on an injected clock (no sleeping): each tick runs once
across instances; a stop lets the page in hand be written, then ends the run, and the next
run finishes the work. Two tests then run the real command, because signals and two
processes are their point (marked `subprocess`, outside `make test-fast`).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.scheduler import retention_job, sync_job
from bridge.store.db import make_engine
from bridge.store.locks import claim_tick
from bridge.store.models import CaseState, Entry, SyncRun
from bridge.wiring import Wiring
from tests.builders import (
    FIXTURE_TODAY,
    IN_SCOPE,
    MakeWiring,
    env_for,
    expected_entry_count,
    only_cases,
    staff_file,
)
from tests.loopback import local

BRIDGE = Path(sys.executable).parent / "visor-bridge"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_tick_is_claimed_once_per_interval(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        gap = timedelta(seconds=8)
        assert claim_tick(engine, "sync", now=T0, min_gap=gap, holder="a")
        assert not claim_tick(
            engine, "sync", now=T0 + timedelta(seconds=1), min_gap=gap, holder="b"
        )
        assert claim_tick(engine, "sync", now=T0 + timedelta(seconds=8), min_gap=gap, holder="b")
        assert claim_tick(engine, "other-job", now=T0, min_gap=gap, holder="a")
    finally:
        engine.dispose()


class _Scheduler:
    """A `visor-bridge scheduler` process whose stderr is collected as it runs."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [str(BRIDGE), "scheduler"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_started(self, timeout: float = 60) -> None:
        """Until the signal handlers are in place (a SIGTERM before that just kills it)."""
        deadline = time.monotonic() + timeout
        while not any("scheduler.started" in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "the scheduler never started"
            time.sleep(0.05)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code, "".join(self.lines)


def _runs(db_url: str) -> list[SyncRun]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(SyncRun).order_by(SyncRun.id)))
    finally:
        engine.dispose()


def _entry_count(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            return len(s.exec(select(Entry.id)).all())
    finally:
        engine.dispose()


def _cases_read(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            query = select(CaseState.crn).where(col(CaseState.last_read_at).is_not(None))
            return set(s.exec(query))
    finally:
        engine.dispose()


def _env(db_url: str, ndelius_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, **env_for(db_url, ndelius_url), **extra}
    folder = tmp_path / "staff"
    folder.mkdir(exist_ok=True)
    staff = staff_file(folder, datetime.now(UTC).date())
    subprocess.run(
        [str(BRIDGE), "staff", "import", str(staff)], env=env, cwd=tmp_path, check=True, timeout=60
    )
    return env


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_schedulers_run_each_tick_once_without_overlap(
    db_url: str, ndelius_url: str, tmp_path: Path
) -> None:
    only_cases(ndelius_url, {"B203456", "A117839"})
    env = _env(db_url, ndelius_url, tmp_path, BRIDGE_SYNC_INTERVAL_SECONDS="1")
    procs = [_Scheduler(env, tmp_path), _Scheduler(env, tmp_path)]
    for p in procs:
        p.wait_started()
    # Real time on purpose: two real processes tick on the wall clock. Polled, not slept out.
    deadline = time.monotonic() + 60
    while len(_runs(db_url)) < 3:
        assert time.monotonic() < deadline, "fewer than three ticks ran in a minute"
        time.sleep(0.1)
    results = [p.stop() for p in procs]

    for code, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    runs = _runs(db_url)
    assert 3 <= len(runs) <= 12, [(r.started_at, r.status) for r in runs]
    assert {r.status for r in runs} <= {"succeeded", "stopped"}  # SIGTERM may land mid-run
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None
        assert later.started_at >= earlier.finished_at  # never two at once
    # (Which instance runs which tick is timing; test_each_tick_runs_once pins that down.)


def test_each_tick_runs_once(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    """Two instances' schedulers fire every tick: only the first runs it, once."""
    only_cases(ndelius_url, {"B203456"})
    first = make_wiring(db_url, ndelius_url, sync_interval_seconds=60)
    second = Wiring(first.settings, clock=clock)  # another instance, same database
    try:
        for tick in range(3):
            sync_job(first)
            sync_job(second)
            sync_job(first)  # the same instance again, within the tick
            assert len(_runs(db_url)) == tick + 1, f"tick {tick}"
            clock.advance(30)  # half an interval: neither instance runs again
            sync_job(second)
            sync_job(first)
            assert len(_runs(db_url)) == tick + 1, f"tick {tick}, half an interval on"
            clock.advance(30)
    finally:
        second.close()
    runs = _runs(db_url)
    assert [r.status for r in runs] == ["succeeded"] * 3
    assert [r.started_at for r in runs] == [FIXTURE_TODAY + timedelta(minutes=m) for m in range(3)]


class _StopDuringFirstPage(threading.Event):
    """A stop (SIGTERM's handler sets the scheduler's Event) that arrives while the first page
    is being read: the run has asked "stop?" once, before starting that page's reads."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        if self.asked == 2:
            self.set()
        return super().is_set()


def test_a_stop_finishes_the_current_page_and_the_next_run_the_rest(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    cases = {"A117839", "B203456", "B219904", "C318820", "G719053", "K134872"}
    only_cases(ndelius_url, cases)
    wiring = make_wiring(db_url, ndelius_url, sync_page_size=2, sync_interval_seconds=60)

    sync_job(wiring, _StopDuringFirstPage())

    [run] = _runs(db_url)
    assert (run.status, run.finished_at) == ("stopped", clock.now())
    read = _cases_read(db_url)
    assert len(read) == 2, f"the page in hand (two cases) is written, nothing after it: {read}"
    assert _entry_count(db_url) == expected_entry_count(read & IN_SCOPE)

    clock.advance(60)
    sync_job(wiring)  # the next tick, not stopped
    assert [r.status for r in _runs(db_url)] == ["stopped", "succeeded"]
    assert _cases_read(db_url) == cases
    assert _entry_count(db_url) == expected_entry_count(cases & IN_SCOPE)


@pytest.mark.slow
@pytest.mark.subprocess
def test_sigterm_stops_after_the_current_page(
    sqlite_url: str, ndelius_url: str, tmp_path: Path
) -> None:
    # Slow case reads (200 ms each) and pages of two cases: the first sync takes seconds.
    local.post(
        f"{ndelius_url}/__admin/faults", json={"path": "/secure/offenders/", "delayMs": 200}
    ).raise_for_status()
    env = _env(
        sqlite_url,
        ndelius_url,
        tmp_path,
        BRIDGE_SYNC_PAGE_SIZE="2",
        BRIDGE_SYNC_CONCURRENCY="1",
        BRIDGE_SYNC_INTERVAL_SECONDS="3600",
    )
    proc = _Scheduler(env, tmp_path)
    proc.wait_started()
    deadline = time.monotonic() + 30
    while not _entry_count(sqlite_url):  # the first page is committed
        assert time.monotonic() < deadline, "the sync never got going"
        time.sleep(0.1)
    asked = time.monotonic()
    code, err = proc.stop()
    assert code == 0, err
    assert time.monotonic() - asked < 10
    assert "Traceback" not in err
    [run] = _runs(sqlite_url)
    assert run.status == "stopped"
    assert run.finished_at is not None
    assert 0 < _entry_count(sqlite_url) < 80  # some pages done, not all of them


def test_every_scheduled_run_anchors_the_audit_chain_outside_the_database(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock, tmp_path: Path
) -> None:
    """issue 17: the head (count, last id, value, key id) goes to the anchor file and the log."""
    only_cases(ndelius_url, {"B203456"})
    anchors = tmp_path / "anchors.jsonl"
    wiring = make_wiring(sqlite_url, ndelius_url, audit_anchor_file=anchors)
    sync_job(wiring)
    clock.advance(wiring.settings.retention_interval_seconds)
    retention_job(wiring)
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert len(lines) == 2
    assert set(lines[0]) == {"at", "events", "last_id", "head", "key_id"}
    assert lines[1]["events"] >= lines[0]["events"] > 0
    assert wiring.audit_log.verify().anchors == 2


def test_a_job_error_is_logged_as_its_class_and_a_reference_never_its_text() -> None:
    """Issue 18: the scheduler logged str(exc); an SQL error's text can carry parameters."""
    from structlog.testing import capture_logs

    from bridge.scheduler import _job_error

    with capture_logs() as logs:
        _job_error("sync", RuntimeError("INSERT ... parameters: ('B203456', 'Siobhán O''Neil')"))
    [line] = logs
    assert line["event"] == "sync.job_error"
    assert line["error_type"] == "RuntimeError"
    assert len(line["reference"]) == 12
    assert "Siobh" not in str(line)
    assert "B203456" not in str(line)
