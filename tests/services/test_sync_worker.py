"""The sync's reading process: same queue as reader threads, prepared cases that survive the
pipe intact, failures as outcomes, and nothing left running when its parent is killed."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from select import select as wait_readable

import pytest
from sqlmodel import Session, select

from bridge.audit import verify_chain
from bridge.clock import FixedClock, SystemClock
from bridge.config import default_mappings_dir
from bridge.core.record import canonical_hash, to_xml
from bridge.core.snapshot import CaseSnapshot
from bridge.mapping_files import load_mapping
from bridge.services.sync.prepare import prepare_case
from bridge.services.sync.reader import ReaderSpec, ReadProcess, WorkerFailed
from bridge.store.models import Baseline, CaseState, Entry
from bridge.wiring import Wiring
from tests.builders import CASES, IN_SCOPE, SIM_CLIENT, case_doc, seeded_wiring
from tests.loopback import local

NEEDS_PROXY = frozenset({"N07A001", "N07A002", "N02A003"})


def _spec(ndelius_url: str) -> ReaderSpec:
    return ReaderSpec(
        ndelius_url=ndelius_url,
        client_id=SIM_CLIENT[0],
        client_secret=SIM_CLIENT[1],
        timeout=10,
        attempts=2,
        backoff_base=0,
        max_wait=0,
        concurrency=3,
        mappings_dir=default_mappings_dir(),
        mapping_version=load_mapping(default_mappings_dir()).version,
    )


def _queue(wiring: Wiring) -> tuple[object, ...]:
    """The store a sync left, without ids or times (records without their PreparedAt)."""
    with Session(wiring.engine) as s:
        return (
            sorted(
                (
                    e.crn,
                    e.section,
                    e.item_key,
                    e.kind,
                    e.status,
                    e.content_hash,
                    re.sub(r"<PreparedAt>[^<]*</PreparedAt>", "", e.xml or ""),
                    json.dumps(e.issues, sort_keys=True),
                    json.dumps(e.diff, sort_keys=True),
                    e.on_behalf_of,
                    e.due_date,
                )
                for e in s.exec(select(Entry))
            ),
            sorted(s.exec(select(Baseline.crn, Baseline.section, Baseline.content_hash)).all()),
            sorted(s.exec(select(CaseState.crn, CaseState.in_scope, CaseState.scope_reason)).all()),
        )


def test_prepared_sections_cross_the_pipe_unchanged() -> None:
    bundle = load_mapping(default_mappings_dir())
    for path in sorted(CASES.glob("*.json")):
        snapshot = CaseSnapshot.from_document(path.stem, case_doc(path.stem))
        prepared = prepare_case(snapshot, needs_proxy=NEEDS_PROXY, bundle=bundle)
        copied = pickle.loads(pickle.dumps(prepared))
        assert copied.crn == prepared.crn
        assert copied.scope == prepared.scope
        assert copied.mappa.latest_mappa() == prepared.mappa.latest_mappa()
        assert [canonical_hash(s.element) for s in copied.sections] == [
            s.content_hash for s in prepared.sections
        ]
        assert [to_xml(s.element) for s in copied.sections] == [
            to_xml(s.element) for s in prepared.sections
        ]
        assert [s.issues for s in copied.sections] == [s.issues for s in prepared.sections]


def test_reading_process_queues_exactly_what_reader_threads_queue(
    db_url: str, sqlite_template: Path, ndelius_url: str, tmp_path: Path
) -> None:
    # The system clock makes the sync read in a process of its own; an injected one, in threads.
    in_process = seeded_wiring(db_url, ndelius_url, SystemClock(), tmp_path)
    shutil.copy(sqlite_template, tmp_path / "threads.db")
    threads = seeded_wiring(
        f"sqlite:///{tmp_path / 'threads.db'}",
        ndelius_url,
        FixedClock(SystemClock().now()),
        tmp_path,
    )
    try:
        for wiring in (in_process, threads):
            with wiring.ndelius() as source:
                service = wiring.sync_service(source)
                result = service.run()
            assert result is not None
            assert result.cases_failed == 0
            assert result.entries_created > 50
            stats = service.reader_stats
            if wiring is in_process:
                assert stats is not None
                assert stats.cases == result.cases_fetched
                assert stats.requests >= 4 * stats.cases + stats.token_requests
            else:
                assert stats is None
        assert _queue(in_process) == _queue(threads)
        with Session(in_process.engine) as s:
            assert verify_chain(s) is None
    finally:
        in_process.close()
        threads.close()


def test_a_failed_read_is_an_outcome_and_the_pages_come_back_in_order(ndelius_url: str) -> None:
    crns = sorted(IN_SCOPE)[:6]
    process = ReadProcess(_spec(ndelius_url), needs_proxy=NEEDS_PROXY)
    try:
        process.submit([*crns[:3], "Z999999"])
        process.submit(crns[3:])
        first, second = process.receive(), process.receive()
    finally:
        process.close()
    assert [crn for crn, _, _ in first] == [*crns[:3], "Z999999"]
    assert [crn for crn, _, _ in second] == crns[3:]
    *found, (_, missing, error) = first
    assert all(prepared is not None and err is None for _, prepared, err in [*found, *second])
    assert missing is None
    assert error is not None
    assert "404" in error.error
    assert error.attention == "not_found"  # the reason crosses from the reading process
    assert process.stats is not None
    assert process.stats.cases == 7


def test_a_reading_process_that_dies_fails_the_read(ndelius_url: str) -> None:
    process = ReadProcess(_spec(ndelius_url), needs_proxy=NEEDS_PROXY)
    try:
        os.kill(process.pid, signal.SIGKILL)

        def read() -> None:
            process.submit(sorted(IN_SCOPE)[:2])  # a broken pipe here,
            process.receive()  # or no answer here

        with pytest.raises(WorkerFailed):
            read()
    finally:
        process.close()
    assert process.stats is None


#: A sync stand-in: starts a reading process, prints its pid, then waits to be killed.
_PARENT = """
import pickle, sys
from bridge.services.sync.reader import ReadProcess

spec, needs_proxy = pickle.load(sys.stdin.buffer)
process = ReadProcess(spec, needs_proxy=needs_proxy)
process.submit(["A117839"])
process.receive()  # it is up and reading
process.submit(["B203456"])  # a slow read: it is busy when we die
print(process.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.subprocess
@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on a pidfd (Linux)")
def test_a_killed_sync_leaves_no_reading_process_behind(ndelius_url: str) -> None:
    # Busy with a read that takes far longer than we wait: only the kernel's kill ends it now
    # (the end of its input would end it too, but only once its reads are done).
    local.post(
        f"{ndelius_url}/__admin/faults",
        json={"path": "/secure/offenders/crn/B203456/", "delayMs": 8_000},
    ).raise_for_status()
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as parent:
        assert parent.stdin is not None
        assert parent.stdout is not None
        parent.stdin.write(pickle.dumps((_spec(ndelius_url), NEEDS_PROXY)))
        parent.stdin.flush()  # left open: the stand-in waits on it
        child = os.pidfd_open(int(parent.stdout.readline()))
        try:
            assert wait_readable([child], [], [], 0)[0] == []  # reading, alive
            parent.kill()
            parent.wait()
            # The kernel ends it with its parent (PR_SET_PDEATHSIG): its pidfd becomes readable.
            assert wait_readable([child], [], [], 4)[0] == [child], "it outlived its parent"
        finally:
            os.close(child)
