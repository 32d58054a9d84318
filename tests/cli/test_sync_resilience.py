"""A sync you can trust: killed at random, fed faults, or run twice at once, it loses nothing.

Every test runs the installed `visor-bridge sync` console script as a real process against a real
database (a SQLite file, or PostgreSQL) and the nDelius simulator on a loopback socket, then
compares what it left with what an uninterrupted, fault-free run left on a separate database.
The comparison is a canonical projection of the store without ids or timestamps: entries,
baselines, case scope, the retry set and the change-feed cursor.

Randomness is seeded (set BRIDGE_TEST_RESILIENCE_SEED to try another pattern); every assertion
message names the seed and the kill points, so a failure can be replayed.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from bridge.clock import SystemClock
from bridge.services.staff import import_staff, parse_staff_file
from bridge.sim import ndelius as ndelius_sim
from bridge.sim.server import serve_in_thread
from bridge.store.db import make_engine, session_scope
from bridge.store.locks import job_lock
from bridge.store.models import Baseline, CaseState, Entry, RetryItem, SyncCursor, SyncRun
from tests.builders import FIXTURES, IN_SCOPE, ON_VISOR, SIM_CLIENT, case_doc, env_for, staff_file
from tests.loopback import http_client, local

BRIDGE = Path(sys.executable).parent / "visor-bridge"
SEED = int(os.environ.get("BRIDGE_TEST_RESILIENCE_SEED", "20261123"))
#: Every per-case read: offender, registrations, contacts, access limitations.
CASE_READS = r"^/(secure/offenders/crn|case)/"
#: Small pages and slightly slow case reads: runs long enough for random kills to land mid-work.
CRASH_SETTINGS = {"BRIDGE_SYNC_PAGE_SIZE": "5"}
CRASH_READ_DELAY_MS = 20
#: SIGKILLs over the four chains (two phases, two chains each): 8 in `make test`, two per chain,
#: each phase's first chain beginning with one at start-up, so every moment is still reached;
#: `make fuzz` runs 40 (BRIDGE_TEST_SYNC_KILLS), where the random share below places them.
KILLS = int(os.environ.get("BRIDGE_TEST_SYNC_KILLS", "8"))
CHAINS = 4
KILLS_PER_CHAIN = max(2, -(-KILLS // CHAINS))
START_UP_SHARE = 0.25
#: A start-up kill falls within this share of the reference start-up, which is a whole run that
#: finds the lock taken (start-up, the lock check, exit): a kill drawn from all of it could land
#: after the run was recorded on a slow moment, and then no kill at all hit start-up.
START_UP_PART = 0.6
SKIPPED = {"skipped": "another sync is running"}
#: A case the incremental changes erase (GDPR deletion in nDelius).
ERASED = "P527104"
#: Real processes are the point here (SIGKILL, two at once): not in `make test-fast`.
#: (`make test` gives each xdist worker whole modules, so the reference runs are made once.)
pytestmark = pytest.mark.subprocess


# -- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """What a sync leaves, without ids or timestamps."""

    #: (crn, section, item key, kind, status, content hash), sorted: a doubled entry shows
    entries: tuple[tuple[str, str, str, str, str, str], ...]
    baselines: tuple[tuple[str, str, str, str], ...]  # crn, section, key, hash
    cases: tuple[tuple[str, bool, str, str | None], ...]  # crn, in scope, reason, on behalf of
    retry: tuple[str, ...]
    cursor: int | None


def _engine_read(db_url: str, body: Any) -> Any:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            return body(s)
    finally:
        engine.dispose()


def _store(db_url: str) -> Store:
    def read(s: Session) -> Store:
        cursor = s.exec(select(SyncCursor.sequence)).all()
        assert len(cursor) <= 1, cursor
        return Store(
            entries=tuple(
                sorted(
                    s.exec(
                        select(
                            Entry.crn,
                            Entry.section,
                            Entry.item_key,
                            Entry.kind,
                            Entry.status,
                            Entry.content_hash,
                        )
                    ).all()
                )
            ),
            baselines=tuple(
                sorted(
                    s.exec(
                        select(
                            Baseline.crn, Baseline.section, Baseline.item_key, Baseline.content_hash
                        )
                    ).all()
                )
            ),
            cases=tuple(
                sorted(
                    s.exec(
                        select(
                            CaseState.crn,
                            CaseState.in_scope,
                            CaseState.scope_reason,
                            CaseState.on_behalf_of,
                        )
                    ).all()
                )
            ),
            retry=tuple(sorted(s.exec(select(RetryItem.crn)).all())),
            cursor=cursor[0] if cursor else None,
        )

    result: Store = _engine_read(db_url, read)
    return result


def _difference(expected: Store, actual: Store) -> str:
    """What a store lost and gained against the expected one, for assertion messages."""
    lines = []
    for name in ("entries", "baselines", "cases", "retry"):
        want, got = Counter(getattr(expected, name)), Counter(getattr(actual, name))
        lost, extra = sorted((want - got).elements()), sorted((got - want).elements())
        if lost:
            lines.append(f"{name} lost: {lost}")
        if extra:
            lines.append(f"{name} extra (doubled or unexpected): {extra}")
    if expected.cursor != actual.cursor:
        lines.append(f"cursor {actual.cursor}, expected {expected.cursor}")
    return "; ".join(lines) or "no difference"


def _open_duplicates(db_url: str) -> list[Any]:
    """(crn, section, key) with more than one open entry: never allowed, even mid-run."""

    def read(s: Session) -> list[Any]:
        return list(
            s.exec(
                select(Entry.crn, Entry.section, Entry.item_key, func.count())
                .where(col(Entry.status).in_(("pending", "claimed")))
                .group_by(Entry.crn, Entry.section, Entry.item_key)
                .having(func.count() > 1)
            ).all()
        )

    result: list[Any] = _engine_read(db_url, read)
    return result


def _runs(db_url: str) -> list[tuple[int, str, datetime]]:
    def read(s: Session) -> list[tuple[int, str, datetime]]:
        rows = s.exec(select(SyncRun.id, SyncRun.status, SyncRun.started_at)).all()
        return sorted((int(i or 0), st, at) for i, st, at in rows)

    result: list[tuple[int, str, datetime]] = _engine_read(db_url, read)
    return result


def _cases_read_since(db_url: str, since: datetime) -> int:
    def read(s: Session) -> int:
        return int(
            s.exec(
                select(func.count())
                .select_from(CaseState)
                .where(col(CaseState.last_read_at) >= since)
            ).one()
        )

    result: int = _engine_read(db_url, read)
    return result


def _integrity(db_url: str) -> str:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("PRAGMA integrity_check")).scalar())
    finally:
        engine.dispose()


#: The real processes here run on the wall clock (a separate process cannot be handed a fixed
#: one), so the staff registry is dated from the real day, read once: every store in this
#: module gets the same registry even if the run crosses midnight. Nothing compared between
#: stores (the projection above) carries a date or time.
NOW = datetime.now(UTC)


def _import_staff(db_url: str, folder: Path) -> None:
    """The fixture staff registry, dated relative to the day this module started."""
    now = NOW
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            import_staff(s, parse_staff_file(staff_file(folder, now.date())), now=now, actor="test")
    finally:
        engine.dispose()


def _copy_sqlite(source: Path, target: Path) -> str:
    """A consistent copy of a SQLite database (the backup API, so no WAL is left behind)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def _env(db_url: str, ndelius_url: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    return {**base, **env_for(db_url, ndelius_url), **extra}


def _unmeasured(env: dict[str, str]) -> dict[str, str]:
    """`env` without coverage (`make test` measures every process it can): for a process that
    is to be killed, which could never write its data, and whose start-up must match theirs."""
    return {k: v for k, v in env.items() if k != "COVERAGE_PROCESS_START"}


def _sync(env: dict[str, str], folder: Path) -> tuple[int, str, str, float]:
    """`visor-bridge sync --json` to the end: (exit code, stdout, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(BRIDGE), "sync", "--json"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def _launch(env: dict[str, str], folder: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`visor-bridge sync --json` in the background; its stdout goes to the returned file."""
    out, err = folder / f"{name}.out", folder / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(BRIDGE), "sync", "--json"], env=env, cwd=folder, stdout=stdout, stderr=stderr
        )
    return proc, out


def _fault(ndelius_url: str, **spec: Any) -> None:
    local.post(f"{ndelius_url}/__admin/faults", json=spec).raise_for_status()


def _faults(ndelius_url: str) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = local.get(f"{ndelius_url}/__admin/faults").json()["faults"]
    return faults


def _reset(ndelius_url: str) -> None:
    local.post(f"{ndelius_url}/__admin/reset").raise_for_status()
    local.delete(f"{ndelius_url}/__admin/faults").raise_for_status()


def _changed_documents() -> dict[str, dict[str, Any]]:
    """The nDelius changes behind every incremental run here, as case documents to PUT.

    Two in-scope cases in three move (main address postcode), one in four gains a
    registration, one in four loses a ViSOR-flagged contact; `ERASED` is deleted besides.
    """
    docs = {}
    for i, crn in enumerate(sorted(IN_SCOPE - {ERASED})):
        doc = case_doc(crn)
        changed = False
        offender = doc.get("offender") if isinstance(doc.get("offender"), dict) else {}
        addresses = (offender.get("contactDetails") or {}).get("addresses") or []
        main = next(
            (
                a
                for a in addresses
                if isinstance(a, dict) and (a.get("status") or {}).get("code") == "M"
            ),
            None,
        )
        if i % 3 != 2 and main is not None:
            main["postcode"] = f"ZZ{i} 9ZZ"
            changed = True
        registrations = doc.get("registrations")
        if i % 4 == 1 and isinstance(registrations, list):
            template = next(
                (
                    r
                    for r in registrations
                    if isinstance(r, dict)
                    and r.get("active")
                    and r.get("type", {}).get("code") != "MAPP"
                ),
                None,
            )
            if template is not None:
                added = copy.deepcopy(template)
                added["registrationId"] = 2599990000 + i
                added["type"] = {"code": "WEAP", "description": "Weapons"}
                added["startDate"] = "2026-10-01"
                registrations.append(added)
                changed = True
        contacts = doc.get("contacts")
        if i % 4 == 3 and isinstance(contacts, list):
            flagged = [c for c in contacts if isinstance(c, dict) and c.get("visorContact")]
            if flagged:
                contacts.remove(flagged[0])
                changed = True
        if changed:
            docs[crn] = doc
    return docs


def _apply_changes(ndelius_url: str) -> None:
    with http_client(base_url=ndelius_url) as admin:
        for crn, doc in sorted(_changed_documents().items()):
            admin.put(f"/__admin/cases/{crn}", json=doc).raise_for_status()
        admin.delete(f"/__admin/cases/{ERASED}").raise_for_status()


# -- the reference: uninterrupted, fault-free runs on their own database ---------------------


@dataclass(frozen=True)
class Reference:
    staffed: Path  # a migrated SQLite file with the fixture staff, never synced
    after_first: Path  # ... after one uninterrupted first sync of the seed
    first: Store  # what the first sync of the seed leaves
    incremental: Store  # ... and the sync after `_apply_changes`
    first_reads: int  # case reads (HTTP requests) of the uninterrupted first sync
    incremental_reads: int  # ... and of the incremental one
    startup_seconds: float  # a `visor-bridge sync` that finds the lock taken: start-up and exit


def _read_hits(admin: httpx.Client) -> int:
    """Case reads served so far: the hits of the (only) fault, the small delay on case reads."""
    (fault,) = admin.get("/__admin/faults").json()["faults"]
    assert fault["path"] == CASE_READS, fault
    return int(fault["hits"])


@pytest.fixture(scope="module")
def reference(
    ndelius_server: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Reference:
    folder = tmp_path_factory.mktemp("reference")
    staffed = folder / "staffed.db"
    _import_staff(_copy_sqlite(sqlite_template, staffed), folder)
    url = _copy_sqlite(staffed, folder / "reference.db")
    env = _env(url, ndelius_server, **CRASH_SETTINGS)
    _reset(ndelius_server)
    _fault(ndelius_server, path=CASE_READS, delayMs=CRASH_READ_DELAY_MS)
    try:
        engine = make_engine(url)
        try:
            with job_lock(engine, "sync") as got:
                assert got
                code, out, err, startup_seconds = _sync(_unmeasured(env), folder)
        finally:
            engine.dispose()
        assert code == 0, err
        assert json.loads(out) == SKIPPED
        with http_client(base_url=ndelius_server) as admin:
            code, out, err, _seconds = _sync(env, folder)
            assert code == 0, err
            assert json.loads(out)["entries_created"] > 50, out
            first = _store(url)
            first_reads = _read_hits(admin)
            after_first = folder / "after-first.db"
            _copy_sqlite(folder / "reference.db", after_first)
            _apply_changes(ndelius_server)
            code, out, err, _seconds = _sync(env, folder)
            assert code == 0, err
            result = json.loads(out)
            assert result["events_read"] > 10, out
            assert result["entries_created"] > 10, out
            incremental = _store(url)
            incremental_reads = _read_hits(admin) - first_reads
    finally:
        _reset(ndelius_server)
    assert first.retry == incremental.retry == ()
    assert ERASED in {c[0] for c in first.cases} - {c[0] for c in incremental.cases}
    assert incremental.cursor is not None
    assert incremental.cursor > (first.cursor or 0)
    # Each kind of change reached the queue: a move, a new registration, a deleted contact
    # (its pending entry superseded, or a withdrawal where ViSOR already has it).
    changed = Counter(incremental.entries) - Counter(first.entries)
    assert {"addresses", "registrations", "activity"} <= {e[1] for e in changed}, changed
    assert "activity-withdrawn" in {e[3] for e in changed}, changed
    return Reference(
        staffed=staffed,
        after_first=after_first,
        first=first,
        incremental=incremental,
        first_reads=first_reads,
        incremental_reads=incremental_reads,
        startup_seconds=startup_seconds,
    )


# -- 1. crash safety -------------------------------------------------------------------------

#: Where a killed run was, judged by what it left in the store.
START_UP = "start-up"  # before it recorded its run
BEFORE_COMMIT = "before its first commit"  # running, no page of its own written yet
AFTER_COMMITS = "after committing pages"
FINISHING = "finishing"  # its run recorded as finished, the process not yet gone


@dataclass(frozen=True)
class KillPoint:
    """When to kill: `seconds` after start, or that long after the run's `reads`-th case read."""

    seconds: float
    reads: int | None = None

    def __str__(self) -> str:
        if self.reads is None:
            return f"{self.seconds:.3f}s"
        return f"read {self.reads}+{self.seconds:.3f}s"


@dataclass(frozen=True)
class Kill:
    chain: str
    trial: int
    point: KillPoint
    moment: str

    def __str__(self) -> str:
        return f"{self.chain}#{self.trial} at {self.point} ({self.moment})"


@contextmanager
def _simulator() -> Iterator[str]:
    """A private nDelius simulator over the fixture cases, so its read count is one run's."""
    app = ndelius_sim.create_app(
        cases_dir=FIXTURES / "ndelius",
        client_id=SIM_CLIENT[0],
        client_secret=SIM_CLIENT[1],
        clock=SystemClock(),
    )
    with serve_in_thread(app) as url:
        yield url


def _kill_point(rng: random.Random, startup: float, reads: int, *, at_start: bool) -> KillPoint:
    """A quarter of kills (and any `at_start`) by the clock during start-up, the rest at a
    random case read.

    Progress, not wall time, places most kills: on a loaded two-core machine a delay drawn
    from an uninterrupted run's duration mostly lands in interpreter start-up, and lands
    elsewhere from one run to the next. After the chosen read, a short random wait lets the
    kill fall in that page's remaining reads or in its write.
    """
    if rng.random() < START_UP_SHARE or at_start:
        return KillPoint(round(rng.uniform(0, startup * START_UP_PART), 3))
    return KillPoint(round(rng.uniform(0, 0.15), 3), rng.randint(1, reads))


def _run_until(
    proc: subprocess.Popen[bytes], point: KillPoint, admin: httpx.Client
) -> tuple[bool, int]:
    """Let the run go on until `point`, then SIGKILL it.

    Returns whether the kill interrupted it (False: it ended on its own first) and how many
    case reads it made.
    """
    base = _read_hits(admin)
    try:
        if point.reads is not None:
            while _read_hits(admin) - base < point.reads:
                try:
                    proc.wait(timeout=0.03)
                except subprocess.TimeoutExpired:
                    continue
                return False, _read_hits(admin) - base
        try:
            proc.wait(timeout=point.seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
    finally:
        if proc.poll() is None:  # an error above: never leave the process behind
            proc.kill()
        code = proc.wait()
    return code == -signal.SIGKILL, _read_hits(admin) - base


def _moment(db_url: str, last_run_before: int) -> str:
    runs = [r for r in _runs(db_url) if r[0] > last_run_before]
    if not runs:
        return START_UP
    assert len(runs) == 1, runs
    _id, status, started_at = runs[0]
    if status != "running":
        return FINISHING
    return AFTER_COMMITS if _cases_read_since(db_url, started_at) else BEFORE_COMMIT


def _kill_chain(phase: str, chain: int, reference: Reference, folder: Path) -> list[Kill]:
    """Kill `visor-bridge sync` at random points, several times per database, then let it finish.

    The chain has its own simulator (in the seed state, or with the changes applied for the
    incremental phase) and its own seeded random stream. After every kill the database must
    be intact and hold no doubled open entry; once a run finishes (on its own, or as the
    re-run after the last kill) it must exit 0 and leave exactly what the uninterrupted run
    left, with every killed run marked interrupted and none left running.
    """
    name = f"{phase.replace(' ', '-')}-{chain}"
    rng = random.Random(f"{SEED}-{name}")
    first = phase == "first run"
    start = reference.staffed if first else reference.after_first
    expected = reference.first if first else reference.incremental
    reads = reference.first_reads if first else reference.incremental_reads
    kills: list[Kill] = []

    def trail() -> str:
        return f"seed {SEED}; {name} kills so far: {', '.join(map(str, kills))}"

    with _simulator() as sim, http_client(base_url=sim) as admin:
        _fault(sim, path=CASE_READS, delayMs=CRASH_READ_DELAY_MS)
        if not first:
            _apply_changes(sim)
        for trial in range(1, 7):
            if len(kills) >= KILLS_PER_CHAIN:
                return kills
            url = _copy_sqlite(start, folder / f"{name}-{trial}.db")
            env = _env(url, sim, **CRASH_SETTINGS)
            # A first run re-reads every case after a kill; an incremental one resumes after
            # the last page it committed, so later kill points are drawn from what is left.
            remaining = reads
            killed_mid_run = 0
            finished = False
            while len(kills) < KILLS_PER_CHAIN:
                # Each phase's first chain opens with a start-up kill (a cold store for the
                # first run, a resumed one for the incremental), whatever the draw.
                point = _kill_point(
                    rng,
                    reference.startup_seconds,
                    max(1, remaining),
                    at_start=chain == 1 and not kills,
                )
                last_run = max((r[0] for r in _runs(url)), default=0)
                proc, out = _launch(_unmeasured(env), folder, f"{name}-{trial}-{len(kills)}")
                killed, served = _run_until(proc, point, admin)
                if not killed:
                    # It finished before the kill point: that run is this trial's completion.
                    err = out.with_suffix(".err").read_text(encoding="utf-8")
                    assert proc.returncode == 0, (
                        f"{name}#{trial}: exit {proc.returncode}: {err}; {trail()}"
                    )
                    json.loads(out.read_text(encoding="utf-8"))
                    finished = True
                    break
                kill = Kill(name, trial, point, _moment(url, last_run))
                kills.append(kill)
                killed_mid_run += kill.moment in (BEFORE_COMMIT, AFTER_COMMITS)
                assert _integrity(url) == "ok", f"{kill}: database damaged; {trail()}"
                assert _open_duplicates(url) == [], f"{kill}: doubled open entries; {trail()}"
                if not first:
                    remaining -= served
            if not finished:
                code, _out, err, _seconds = _sync(env, folder)
                assert code == 0, f"{name}#{trial}: re-run exited {code}: {err}; {trail()}"
            actual = _store(url)
            assert actual == expected, f"{name}#{trial}: {_difference(expected, actual)}; {trail()}"
            statuses = Counter(status for _id, status, _at in _runs(url))
            # A killed run is marked when the next run takes the lock; none is left "running".
            assert statuses["running"] == 0, f"{name}#{trial}: {statuses}; {trail()}"
            assert statuses["interrupted"] == killed_mid_run, (
                f"{name}#{trial}: {statuses}; {trail()}"
            )
    assert len(kills) >= KILLS_PER_CHAIN, f"too few kills landed in 6 trials; {trail()}"
    return kills


def test_sync_killed_at_random_points_then_rerun_loses_and_doubles_nothing(
    reference: Reference, tmp_path: Path
) -> None:
    """SIGKILL during the first run (full reconciliation) and during an incremental run.

    Four chains of kills, two at a time (each with its own simulator and database), keep the
    wall time down on two cores; kill points follow each run's progress, so the load of the
    other chain does not move them. KILLS of them (8 here, 40 under `make fuzz`).
    """
    chains = [(phase, n) for n in (1, 2) for phase in ("first run", "incremental")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_kill_chain, phase, n, reference, tmp_path) for phase, n in chains]
        kills = [kill for future in futures for kill in future.result()]

    moments = Counter(k.moment for k in kills)
    trail = f"seed {SEED}; {dict(moments)}; kills: {', '.join(map(str, kills))}"
    assert len(kills) >= CHAINS * KILLS_PER_CHAIN, trail
    # The kills interrupted real work at varied moments, not only process start-up.
    assert moments[START_UP] >= 1, trail
    assert moments[BEFORE_COMMIT] + moments[AFTER_COMMITS] >= len(kills) // 2, trail
    assert moments[AFTER_COMMITS] >= len(kills) // 4, trail
    for phase in ("first-run", "incremental"):
        assert any(k.chain.startswith(phase) and k.moment == AFTER_COMMITS for k in kills), trail


# -- 2. faults -------------------------------------------------------------------------------

#: The share of requests each fault kind hits; the three add up to 20%.
FAULT_SHARE = 0.2 / 3
TRUNCATED = '{"content": [{"crn": "X0'


def _post_flaky_faults(ndelius_url: str, rng: random.Random) -> None:
    """503s, delays past the client timeout and truncated JSON on 20% of requests.

    The simulator applies the first live fault whose path matches and whose own rate draw
    hits, so the later faults only see what the earlier ones let through: their rates are
    raised so that each kind takes FAULT_SHARE of all requests.
    """
    for n, spec in enumerate(
        (
            {"status": 503},
            {"delayMs": 1000},  # no status: the normal response, long after the client gave up
            {"status": 200, "body": TRUNCATED},
        )
    ):
        rate = FAULT_SHARE / (1 - n * FAULT_SHARE)
        _fault(ndelius_url, path="^/", rate=rate, seed=rng.randrange(2**31), **spec)


def _converge(env: dict[str, str], folder: Path, phase: str) -> list[str]:
    """Run `visor-bridge sync` until the retry set is empty and a run changes nothing (at most 15)."""
    runs: list[str] = []
    for _ in range(15):
        code, out, err, _seconds = _sync(env, folder)
        assert "Traceback" not in err, err
        if code != 0:
            # The feed or listing itself failed after the client's retries: a one-line error.
            assert code == 1, f"{phase}: exit {code}: {err}"
            assert err.strip().splitlines()[-1].startswith("visor-bridge: nDelius"), err
            runs.append("failed")
            continue
        result = json.loads(out)
        runs.append(
            f"created {result['entries_created']}, superseded {result['entries_superseded']}, "
            f"failed {result['cases_failed']}, retry set {result['retry_set']}"
        )
        if (
            result["retry_set"] == 0
            and result["cases_failed"] == 0
            and result["entries_created"] == 0
            and result["entries_superseded"] == 0
        ):
            return runs
    pytest.fail(f"{phase}: no quiet run after {len(runs)} runs (seed {SEED}): {runs}")


def test_sync_under_faults_converges_to_the_fault_free_queue(
    reference: Reference, ndelius_url: str, tmp_path: Path
) -> None:
    """20% of requests fail; repeated runs end with the queue a fault-free run leaves.

    Two HTTP attempts per request (instead of five) let faults outlast the client's own
    retries, so cases land in the retry set and feed reads fail whole runs, as they would in
    a longer outage.
    """
    rng = random.Random(SEED + 1)
    url = _copy_sqlite(reference.staffed, tmp_path / "flaky.db")
    env = _env(url, ndelius_url, BRIDGE_HTTP_TIMEOUT_SECONDS="0.3", BRIDGE_HTTP_ATTEMPTS="2")
    history: dict[str, list[str]] = {}
    for phase, expected in (("first run", reference.first), ("incremental", reference.incremental)):
        if phase == "incremental":
            local.delete(f"{ndelius_url}/__admin/faults").raise_for_status()
            _apply_changes(ndelius_url)
        _post_flaky_faults(ndelius_url, rng)
        history[phase] = _converge(env, tmp_path, phase)
        hits = [f["hits"] for f in _faults(ndelius_url)]
        context = f"seed {SEED}; {phase} runs: {history[phase]}; fault hits {hits}"
        assert all(h > 0 for h in hits), context
        actual = _store(url)
        assert actual == expected, f"{_difference(expected, actual)}; {context}"
        assert "running" not in {status for _id, status, _at in _runs(url)}, context

    # The faults reached the sync itself, not only the client's in-request retries.
    outcomes = [run for runs in history.values() for run in runs]
    assert any(run == "failed" or "retry set 0" not in run for run in outcomes), history


# -- 3. concurrency --------------------------------------------------------------------------


def test_two_syncs_started_together_one_works_the_other_skips(
    db_url: str, reference: Reference, ndelius_url: str, tmp_path: Path
) -> None:
    """PostgreSQL (advisory lock) and SQLite (lock file): one run works, one exits 0 skipped."""
    _import_staff(db_url, tmp_path)
    # Slow case reads (4 per case, 8 cases at a time): the working run holds the lock for
    # seconds, far longer than the spread between two processes' start-up.
    _fault(ndelius_url, path=CASE_READS, delayMs=150)
    env = _env(db_url, ndelius_url)
    procs = [_launch(env, tmp_path, f"sync-{n}") for n in range(2)]
    try:
        first_done = None
        while first_done is None:
            for proc, _out in procs:
                try:
                    proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    continue
                first_done = proc
                break
        still_running = [p.poll() is None for p, _out in procs if p is not first_done]
        codes = [proc.wait(timeout=120) for proc, _out in procs]
    finally:
        for proc, _out in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    errors = [(tmp_path / f"sync-{n}.err").read_text(encoding="utf-8") for n in range(2)]
    assert codes == [0, 0], errors
    outputs = [json.loads(out.read_text(encoding="utf-8")) for _proc, out in procs]
    assert sorted(o == SKIPPED for o in outputs) == [False, True], outputs
    worker = next(o for o in outputs if o != SKIPPED)
    skipper = next(p for (p, _out), o in zip(procs, outputs, strict=True) if o == SKIPPED)
    assert first_done is skipper, "the working run ended first: the two did not overlap"
    assert still_running == [True], "the two runs did not overlap"
    assert worker["entries_created"] == len(reference.first.entries), worker
    actual = _store(db_url)
    assert actual == reference.first, _difference(reference.first, actual)
    assert [status for _id, status, _at in _runs(db_url)] == ["succeeded"]


def test_adopted_cases_are_known_to_the_reference(reference: Reference) -> None:
    """The projection covers baselines: cases already on ViSOR are adopted, not queued."""
    adopted = {b[0] for b in reference.first.baselines}
    assert adopted >= ON_VISOR
    assert not {e[0] for e in reference.first.entries} & ON_VISOR
