"""Benchmark: a full and a 1%-churn incremental sync against the nDelius simulator.

Run with `make bench` (100,000 cases) or `python -m tests.bench.bench_sync --cases 2000` to try
it quickly. One run:

1. generates the cases (seeded, so every run reads the same documents) and starts the nDelius
   simulator over them in its own process (`visor-bridge sim ndelius`), so it never shares a GIL
   with the code being measured;
2. creates a fresh SQLite database and imports a staff file in which every offender manager the
   generator uses needs a proxy, so every case is in scope and the sync does all of its work;
3. runs a plain httpx fetch loop (the floor: one token, renewed when it expires, the
   `/mappa/cases` listing, then the same four endpoints per case on a thread pool of the same
   size, each body parsed as JSON) in a child process;
4. runs the first `visor-bridge sync` (a full reconciliation) in a child process, timing it and taking
   the child's peak RSS from the kernel (`wait4`);
5. changes 1% of the in-scope cases through the simulator's admin API (a new postcode on the
   main address, or one more alias) and runs the next sync (incremental) in a child, counting
   its requests by kind (token, event pages, listing, case reads);
6. writes the numbers, targets and verdicts into docs/BENCHMARKS.md.

The sync children run `bridge.wiring.Wiring(...).sync_service(...)` as `visor-bridge sync` does; they
only add an httpx request hook that counts requests by path and wrap three functions to time them
(see `_Phases`). The report names the commit each child ran, since the code may change meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import json
import os
import platform
import pstats
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENT = ("bridge-dev", "bridge-dev-secret")
DOC = ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_CASES = 100_000
TARGET_REQUESTS_PER_CASE = 4.0
TARGET_INCREMENTAL_FRACTION = 0.05
TARGET_THROUGHPUT_RATIO = 0.5
TARGET_PEAK_RSS_MB = 400.0


def _setting_default(name: str) -> int:
    from bridge.config import Settings

    return int(Settings.model_fields[name].default)


PAGE_SIZE = _setting_default("sync_page_size")  # the plain loop pages the listing the same way


def _log(message: str) -> None:
    print(f"[bench-sync {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


def _kind(path: str) -> str:
    if path.startswith("/auth/"):
        return "token"
    if path == "/events":
        return "events"
    if path == "/mappa/cases":
        return "listing"
    return "case"


# -- child: one sync run ---------------------------------------------------------------------


class _Phases:
    """Where a sync run's time goes, measured from outside the product code.

    The sync reads and maps cases in a process of its own (`bridge.services.sync.reader`);
    this process (the writer) keeps the store's reads and writes, in page order. Wrapped here
    to sum their wall and CPU time per call: `PageWriter.case` and `.finish` (the queue
    writes of a page: deciding each case, then its bulk statements), slot `apply`; and
    `ReadProcess.receive`, slot `wait`, the writer waiting for the reading process to hand
    over a page (wall time the writer had nothing to do). The reading process reports its own
    CPU time and peak RSS when it ends (`SyncService.reader_stats`). With `--profile`, the
    writer runs under cProfile.
    """

    SLOTS = ("apply", "wait")

    def __init__(self) -> None:
        self.wall = dict.fromkeys(self.SLOTS, 0.0)
        self.cpu = dict.fromkeys(self.SLOTS, 0.0)

    def _timed(self, fn: Any, slot: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[slot] += time.thread_time() - cpu
                self.wall[slot] += time.perf_counter() - wall

        return wrapper

    def install(self) -> None:
        import bridge.services.sync.reader as worker_module
        import bridge.services.sync.service as sync_module

        writer = sync_module.PageWriter
        writer.case = self._timed(writer.case, "apply")  # type: ignore[method-assign]
        writer.finish = self._timed(writer.finish, "apply")  # type: ignore[method-assign]
        reader = worker_module.ReadProcess
        reader.receive = self._timed(reader.receive, "wait")  # type: ignore[method-assign]


def _child_sync(args: argparse.Namespace) -> None:
    from bridge.config import Settings
    from bridge.logs import configure_logging
    from bridge.wiring import Wiring

    configure_logging(verbose=False)
    settings = Settings(
        environment="development",  # the development audit key (a bench store, not a deployment)
        database_url=args.db,
        ndelius_url=args.url,
        sync_concurrency=args.concurrency,
        sync_page_size=PAGE_SIZE,
    )
    wiring = Wiring(settings)
    source = wiring.ndelius()
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def count(request: httpx.Request) -> None:
        with lock:
            counts[_kind(request.url.path)] += 1

    # The client's own httpx.Client: count each request by kind (the sync itself only keeps
    # a total, `source.requests`, which this cross-checks).
    source._http.event_hooks = {"request": [count], "response": []}
    phases = _Phases()
    phases.install()
    started = time.perf_counter()
    last = [started]

    def progress(result: Any) -> None:
        now = time.perf_counter()
        if now - last[0] >= 30:
            last[0] = now
            _log(f"  … {result.cases_fetched:,} cases read after {now - started:,.0f} s")

    service = wiring.sync_service(source, progress=progress)
    main_profile = cProfile.Profile() if args.profile else None
    started, writer_cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
    if main_profile is not None:
        main_profile.enable()
    result = service.run()
    if main_profile is not None:
        main_profile.disable()
    seconds = time.perf_counter() - started
    writer_cpu = time.thread_time() - writer_cpu
    process_cpu = time.process_time() - process_cpu
    source.close()
    wiring.close()
    if result is None:
        sys.exit("another sync held the lock")
    if main_profile is not None:
        main_profile.dump_stats(f"{args.profile}.main.prof")
    reader = service.reader_stats
    if reader is None:
        sys.exit("the sync read in threads, not in its reading process: nothing to compare")
    # The reading process's requests are all case reads, but for its token.
    counts["case"] += reader.requests - reader.token_requests
    counts["token"] += reader.token_requests
    Path(args.out).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "result": result.to_json(),
                "requests": source.requests + reader.requests,
                "by_kind": dict(counts),
                "cpu": process_cpu,
                "writer_cpu": writer_cpu,
                "reader_cpu": reader.cpu_seconds,
                "phase_wall": phases.wall,
                "phase_cpu": phases.cpu,
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "reader_maxrss_kb": reader.maxrss_kb,
            }
        ),
        encoding="utf-8",
    )


# -- child: the plain httpx fetch loop ---------------------------------------------------------


def _child_plain(args: argparse.Namespace) -> None:
    limits = httpx.Limits(
        max_connections=args.concurrency + 2, max_keepalive_connections=args.concurrency + 2
    )
    with httpx.Client(base_url=args.url, timeout=30.0, limits=limits) as http:
        lock = threading.Lock()
        requests = Counter[str]()
        auth: dict[str, dict[str, str]] = {}

        def fetch_token() -> dict[str, str]:
            requests["token"] += 1
            r = http.post(
                "/auth/oauth/token", params={"grant_type": "client_credentials"}, auth=CLIENT
            )
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        def get(path: str, params: dict[str, Any] | None = None) -> Any:
            headers = auth["headers"]
            for attempt in range(2):
                with lock:
                    requests["get"] += 1
                response = http.get(path, params=params, headers=headers)
                if response.status_code != 401 or attempt:
                    break
                with lock:  # the token expired (a long run): one thread fetches a new one
                    if auth["headers"] is headers:
                        auth["headers"] = fetch_token()
                    headers = auth["headers"]
            response.raise_for_status()
            return json.loads(response.content)

        started = time.perf_counter()
        auth["headers"] = fetch_token()
        crns: list[str] = []
        page = 0
        while True:
            body = get("/mappa/cases", {"page": page, "size": PAGE_SIZE})
            crns.extend(item["crn"] for item in body["content"])
            page += 1
            if page >= body["totalPages"]:
                break
        if args.limit:
            crns = crns[: args.limit]

        def read(crn: str) -> None:
            get(f"/secure/offenders/crn/{crn}/all")
            get(f"/secure/offenders/crn/{crn}/registrations")
            get(f"/case/{crn}/contacts", {"page": 0, "size": 100})
            get(f"/case/{crn}/access-limitations")

        # A sliding window of reads in flight, not 100,000 futures queued at once (their
        # objects would make every full garbage collection walk them all).
        window = threading.BoundedSemaphore(4 * args.concurrency)
        failures: list[BaseException] = []

        def task(crn: str) -> None:
            try:
                read(crn)
            except BaseException as exc:
                failures.append(exc)
            finally:
                window.release()

        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            for crn in crns:
                window.acquire()
                if failures:
                    break
                pool.submit(task, crn)
        if failures:
            raise failures[0]
        seconds = time.perf_counter() - started
    Path(args.out).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "cases": len(crns),
                "requests": sum(requests.values()),
                "tokens": requests["token"],
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        ),
        encoding="utf-8",
    )


# -- the parent --------------------------------------------------------------------------------


@dataclass
class ChildRun:
    wall: float  # the whole child process, interpreter start to exit
    peak_rss_mb: float  # from the kernel's accounting of that child (wait4)
    cpu: float  # user + system CPU seconds of the child
    code: str  # the commit (and uncommitted changes) the child started with
    sim_cpu: float  # CPU seconds the simulator used meanwhile
    out: dict[str, Any] = field(default_factory=dict)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_child(role: str, work: Path, sim_pid: int, *extra: str) -> ChildRun:
    out = work / f"{role}-{time.monotonic_ns()}.json"
    cmd = [sys.executable, "-m", "tests.bench.bench_sync", "--role", role, "--out", str(out)]
    sim_before = _cpu_seconds(sim_pid)
    code = _code_version()
    started = time.perf_counter()
    proc = subprocess.Popen([*cmd, *extra], cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"the {role} child failed (exit {proc.returncode})")
    return ChildRun(
        wall,
        usage.ru_maxrss / 1024,
        usage.ru_utime + usage.ru_stime,
        code,
        _cpu_seconds(sim_pid) - sim_before,
        json.loads(out.read_text(encoding="utf-8")),
    )


def _pair_rss_mb(run: ChildRun) -> float:
    """The sync's peak RSS: its writer's plus its reading process's (an upper bound)."""
    return float(run.out["maxrss_kb"] + run.out["reader_maxrss_kb"]) / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _simulator(data: Path, log_path: Path) -> Any:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BRIDGE_NDELIUS_CLIENT_ID": CLIENT[0],
        "BRIDGE_NDELIUS_CLIENT_SECRET": CLIENT[1],
    }
    cmd = [sys.executable, "-c", "from bridge.cli import main; main()"]
    cmd += ["sim", "ndelius", "--data", str(data), "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        with httpx.Client(base_url=url, timeout=30.0) as http:
            while True:
                if proc.poll() is not None:
                    sys.exit(f"the simulator exited: see {log_path}")
                try:
                    r = http.post(
                        "/auth/oauth/token",
                        params={"grant_type": "client_credentials"},
                        auth=CLIENT,
                    )
                    token = r.json()["access_token"]
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        sys.exit("the simulator did not start within 600 s")
                    time.sleep(0.2)
            # Build the listing once before anything is timed (as a long-running nDelius has).
            r = http.get(
                "/mappa/cases", params={"size": 1}, headers={"Authorization": f"Bearer {token}"}
            )
            r.raise_for_status()
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _staff_file(path: Path) -> None:
    """Every manager code the generator uses needs a proxy (so every case is in scope)."""
    from bridge.sim.generate_pools import STAFF, TEAMS

    staff: list[dict[str, Any]] = [
        {
            "code": code,
            "name": f"{forenames} {surname}",
            "roles": ["offender_manager"],
            "team": TEAMS[0][0],
            "needsProxy": {"since": "2025-01-06", "until": None},
        }
        for code, forenames, surname in STAFF
    ]
    staff.append(
        {
            "code": "N07P900",
            "name": "Bench Proxy",
            "roles": ["proxy"],
            "team": TEAMS[0][0],
            "vetting": {"level": "NPPV2", "expires": "2099-12-31"},
        }
    )
    path.write_text(json.dumps({"staff": staff}, indent=1), encoding="utf-8")


def _fresh_database(path: Path, staff: Path) -> str:
    from bridge.services.staff import import_staff, parse_staff_file
    from bridge.store.db import make_engine, session_scope
    from bridge.store.migrate import upgrade

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        import_staff(s, parse_staff_file(staff), now=datetime.now(UTC), actor="system:bench")
    engine.dispose()
    return url


def _in_scope(url: str) -> tuple[int, list[str]]:
    from sqlmodel import Session, col, select

    from bridge.store.db import make_engine
    from bridge.store.models import CaseState

    engine = make_engine(url)
    with Session(engine) as s:
        total = len(s.exec(select(CaseState.crn)).all())
        crns = sorted(s.exec(select(CaseState.crn).where(col(CaseState.in_scope))).all())
    engine.dispose()
    return total, crns


def _churn(url: str, data: Path, crns: list[str]) -> int:
    """Change each case (new main postcode, or one more alias); returns the events appended."""
    events = 0
    with httpx.Client(base_url=url, timeout=30.0) as http:
        for n, crn in enumerate(crns):
            doc = json.loads((data / "cases" / f"{crn}.json").read_bytes())
            offender = doc["offender"]
            if n % 2 == 0:
                main = next(
                    a for a in offender["contactDetails"]["addresses"] if a["status"]["code"] == "M"
                )
                outward = main["postcode"].split(" ")[0]
                main["postcode"] = f"{outward} 9ZZ"
            else:
                aliases = offender["offenderAliases"]
                aliases.append(
                    {
                        "id": str(2690000000 + n),
                        "firstName": offender["firstName"],
                        "middleNames": [],
                        "surname": f"{offender['surname']}-Bench",
                        "dateOfBirth": offender["dateOfBirth"],
                        "gender": offender["gender"],
                    }
                )
            r = http.put(
                f"/__admin/cases/{crn}", content=json.dumps(doc, ensure_ascii=False).encode()
            )
            r.raise_for_status()
            events += len(r.json()["events"])
    return events


def _top_functions(path: Path, n: int = 25) -> str:
    import io

    buffer = io.StringIO()
    pstats.Stats(str(path), stream=buffer).sort_stats("cumulative").print_stats(n)
    return buffer.getvalue()


def _code_version() -> str:
    """The commit, plus a digest of uncommitted changes under bridge/ (the code measured)."""

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, check=False)
        return done.stdout.decode("utf-8", "replace").strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    diff = git("diff", "HEAD", "--", "bridge")
    if not diff:
        return commit
    return (
        f"{commit} + uncommitted changes to bridge/ ({hashlib.sha1(diff.encode()).hexdigest()[:8]})"
    )


def _code_line(full: str, incremental: str, end: str) -> str:
    if full == incremental == end:
        return full
    return (
        f"{full} for the full sync and {incremental} for the incremental one "
        "(new commits landed during the run)"
    )


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def _report(r: dict[str, Any]) -> tuple[str, bool]:
    checks = {
        "requests": r["requests_per_case"] <= TARGET_REQUESTS_PER_CASE,
        "fraction": r["fraction"] <= TARGET_INCREMENTAL_FRACTION,
        "ratio": r["ratio"] >= TARGET_THROUGHPUT_RATIO,
        "rss": r["peak_rss_mb"] <= TARGET_PEAK_RSS_MB,
    }
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), SQLite; "
        f"{r['cases']:,} generated cases (seed {r['seed']}), {r['in_scope']:,} of them in scope; "
        f"concurrency {r['concurrency']} (the `sync_concurrency` default), page size {PAGE_SIZE}; "
        f"code at {r['code']}. "
        f"The simulator ran in its own process (RSS {r['sim_rss_mb']:,.0f} MB holding the cases); "
        "each sync and the plain loop ran in a child process of their own.",
        "",
        "| run | time | cases | cases/s | requests | peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
        f"| plain httpx fetch loop (floor) | {r['plain_seconds']:,.1f} s | {r['plain_cases']:,} | "
        f"{r['plain_rate']:,.0f} | {r['plain_requests']:,} | {r['plain_rss_mb']:,.0f} MB |",
        f"| full sync (first run: reconciliation) | {r['full_seconds']:,.1f} s | "
        f"{r['full_cases']:,} | {r['full_rate']:,.0f} | {r['full_requests']:,} | "
        f"{r['peak_rss_mb']:,.0f} MB |",
        f"| incremental sync after 1% churn | {r['inc_seconds']:,.2f} s | {r['inc_cases']:,} | "
        f"{r['inc_cases'] / r['inc_seconds']:,.0f} | {r['inc_requests']:,} | "
        f"{r['inc_rss_mb']:,.0f} MB |",
        "",
        f"Full sync: {r['full_entries']:,} entries created, {r['full_failed']} cases failed. "
        f"Churn: {r['changed']:,} in-scope cases changed through `PUT /__admin/cases/{{crn}}` "
        f"(half a new main-address postcode, half one more alias), {r['events']:,} events; the "
        f"incremental sync read {r['inc_events']:,} events, read {r['inc_cases']:,} cases, created "
        f"{r['inc_entries']:,} entries and superseded {r['inc_superseded']:,}. Times are the "
        f"`SyncService.run` call (process wall time, interpreter start to exit: full "
        f"{r['full_wall']:,.1f} s, incremental {r['inc_wall']:,.1f} s).",
        "",
        "| measure | result | target | verdict |",
        "|---|---:|---:|---|",
        f"| source requests per changed case (incremental) | {r['requests_per_case']:.2f} "
        f"(+ {r['event_pages']} event pages, {r['tokens']} token) | ≤ {TARGET_REQUESTS_PER_CASE:g} "
        f"plus the event pages | {_verdict(checks['requests'])} |",
        f"| incremental time / full-sync time | {r['fraction']:.2%} | "
        f"≤ {TARGET_INCREMENTAL_FRACTION:.0%} | {_verdict(checks['fraction'])} |",
        f"| full-sync throughput / plain-loop throughput | {r['ratio']:.2f} | "
        f"≥ {TARGET_THROUGHPUT_RATIO} | {_verdict(checks['ratio'])} |",
        f"| peak RSS of the full sync | {r['peak_rss_mb']:,.0f} MB | "
        f"≤ {TARGET_PEAK_RSS_MB:.0f} MB | {_verdict(checks['rss'])} |",
    ]
    lines += ["", _reading(r)]
    return "\n".join(lines), all(checks.values())


def _reading(r: dict[str, Any]) -> str:
    """Where the full sync's time went, from the CPU each of its two processes measured."""
    n, full = r["full_cases"], r["full_seconds"]
    per_case = {k: 1000 * v / n for k, v in r["full_phase_cpu"].items()}
    writer_cpu, reader_cpu = 1000 * r["full_run_cpu"] / n, 1000 * r["full_reader_cpu"] / n
    plain_cpu = 1000 * r["plain_cpu"] / r["plain_cases"]
    wait = r["full_phase_wall"]["wait"]
    return (
        f"**Where the time goes.** The sync ran as two processes: the writer (the store, in "
        f"page order) and its reading process (HTTP, JSON, scope and mapping on "
        f"{r['concurrency']} threads), so they never wait for one interpreter lock. The reading "
        f"process used {reader_cpu:.1f} ms of CPU a case, against {plain_cpu:.1f} ms for the "
        f"plain loop's reads; the writer {writer_cpu:.1f} ms a case, of which the page writer "
        f"(deciding each case, building and checking its records, one bulk statement per table "
        f"a page) {per_case['apply']:.1f} ms; the rest is the page transactions and commits, "
        f"unpickling the prepared cases, and the listing. Of the {full:,.0f} s, the writer "
        f"waited {wait:,.0f} s for the reading process to hand over a page. The simulator used "
        f"{1000 * r['full_sim_cpu'] / n:.1f} ms a case "
        f"({1000 * r['plain_sim_cpu'] / r['plain_cases']:.1f} ms for the plain loop). The "
        f"1-minute load average was {r['load']:.2f} when the run started and "
        f"{r['load_end']:.2f} when it ended, on {os.cpu_count()} CPUs (the benchmark's own "
        f"processes count in it): wall times, and so the ratio, move with other load. Peak RSS is the sum of the two "
        f"processes' peaks (writer {r['full_writer_rss_mb']:,.0f} MB, reading process "
        f"{r['full_reader_rss_mb']:,.0f} MB)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--churn", type=float, default=0.01, help="share of in-scope cases")
    parser.add_argument(
        "--report",
        type=Path,
        help="write the section here (default: docs/BENCHMARKS.md, only for the full size)",
    )
    parser.add_argument("--workdir", type=Path, help="keep data and database here")
    parser.add_argument(
        "--profile", type=Path, help="cProfile the full sync's writer into PROFILE.main.prof"
    )
    # Child roles (used by the benchmark itself).
    parser.add_argument("--role", choices=["sync", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.concurrency is None:
        args.concurrency = _setting_default("sync_concurrency")
    if args.role == "sync":
        _child_sync(args)
        return 0
    if args.role == "plain":
        _child_plain(args)
        return 0

    from bridge.sim.generate import generate_cases

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-sync-"))
    if work.exists() and args.workdir:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    data = work / "data"
    _log(f"generating {args.cases:,} cases (seed {args.seed}) into {data}")
    generate_cases(cases=args.cases, seed=args.seed, out_dir=data)
    _staff_file(work / "staff.json")
    db = _fresh_database(work / "bridge.db", work / "staff.json")
    _log(f"starting the simulator ({time.perf_counter() - started:,.0f} s so far)")
    c = str(args.concurrency)
    with _simulator(data, work / "sim.log") as (url, sim_pid):
        sim_rss = _rss_mb(sim_pid)
        _log(f"simulator up at {url}, RSS {sim_rss:,.0f} MB; plain fetch loop")
        plain = _run_child("plain", work, sim_pid, "--url", url, "--concurrency", c)
        _log(
            f"plain loop: {plain.out['cases']:,} cases in {plain.out['seconds']:,.1f} s; full sync"
        )
        profile = ["--profile", str(args.profile)] if args.profile else []
        full = _run_child(
            "sync", work, sim_pid, "--url", url, "--db", db, "--concurrency", c, *profile
        )
        _log(
            f"full sync: {full.out['result']['cases_fetched']:,} cases in "
            f"{full.out['seconds']:,.1f} s, peak RSS {_pair_rss_mb(full):,.0f} MB"
        )
        total, in_scope = _in_scope(db)
        if not in_scope:
            sys.exit("no case is in scope after the full sync: the benchmark would measure nothing")
        changed = random.Random(args.seed).sample(
            in_scope, max(1, round(len(in_scope) * args.churn))
        )
        events = _churn(url, data, changed)
        _log(f"churn: {len(changed):,} cases changed, {events:,} events; incremental sync")
        inc = _run_child("sync", work, sim_pid, "--url", url, "--db", db, "--concurrency", c)
        sim_rss = max(sim_rss, _rss_mb(sim_pid))
    load_end = os.getloadavg()[0]
    kinds = inc.out["by_kind"]
    if sum(kinds.values()) != inc.out["requests"]:
        _log(
            f"warning: counted {sum(kinds.values())} requests, the client says {inc.out['requests']}"
        )
    full_cases = full.out["result"]["cases_fetched"]
    r: dict[str, Any] = {
        "cases": args.cases,
        "seed": args.seed,
        "in_scope": len(in_scope),
        "known": total,
        "concurrency": args.concurrency,
        "sim_rss_mb": sim_rss,
        "plain_seconds": plain.out["seconds"],
        "plain_cases": plain.out["cases"],
        "plain_rate": plain.out["cases"] / plain.out["seconds"],
        "plain_requests": plain.out["requests"],
        "plain_rss_mb": plain.peak_rss_mb,
        "full_seconds": full.out["seconds"],
        "full_wall": full.wall,
        "full_cases": full_cases,
        "full_rate": full_cases / full.out["seconds"],
        "full_requests": full.out["requests"],
        "full_entries": full.out["result"]["entries_created"],
        "full_failed": full.out["result"]["cases_failed"],
        "peak_rss_mb": _pair_rss_mb(full),
        "full_writer_rss_mb": full.out["maxrss_kb"] / 1024,
        "full_reader_rss_mb": full.out["reader_maxrss_kb"] / 1024,
        "full_reader_cpu": full.out["reader_cpu"],
        "full_cpu": full.cpu,
        "full_sim_cpu": full.sim_cpu,
        "full_run_cpu": full.out["cpu"],
        "full_writer_cpu": full.out["writer_cpu"],
        "full_phase_cpu": full.out["phase_cpu"],
        "full_phase_wall": full.out["phase_wall"],
        "code": _code_line(full.code, inc.code, _code_version()),
        "plain_cpu": plain.cpu,
        "plain_sim_cpu": plain.sim_cpu,
        "load": load,
        "load_end": load_end,
        "changed": len(changed),
        "events": events,
        "inc_seconds": inc.out["seconds"],
        "inc_wall": inc.wall,
        "inc_cases": inc.out["result"]["cases_fetched"],
        "inc_events": inc.out["result"]["events_read"],
        "inc_entries": inc.out["result"]["entries_created"],
        "inc_superseded": inc.out["result"]["entries_superseded"],
        "inc_requests": inc.out["requests"],
        "inc_rss_mb": _pair_rss_mb(inc),
        "event_pages": kinds.get("events", 0),
        "tokens": kinds.get("token", 0),
        "requests_per_case": (kinds.get("case", 0) + kinds.get("listing", 0)) / len(changed),
    }
    r["fraction"] = r["inc_seconds"] / r["full_seconds"]
    r["ratio"] = r["full_rate"] / r["plain_rate"]
    body, ok = _report(r)
    print(body)  # noqa: T201
    print(json.dumps(r, indent=1), file=sys.stderr)  # noqa: T201
    if args.profile:
        path = Path(f"{args.profile}.main.prof")
        if path.exists():
            print("--- the writer, by cumulative time ---", file=sys.stderr)  # noqa: T201
            print(_top_functions(path), file=sys.stderr)  # noqa: T201
    report = args.report or (DOC if args.cases == DEFAULT_CASES else None)
    if report is not None:
        from tests.bench.report import write_section

        write_section(report, "sync", body)
        _log(f"wrote the sync section of {report}")
    else:
        _log(f"not written to {DOC.name}: only a {DEFAULT_CASES:,}-case run is (or pass --report)")
    kept = f" (work files kept in {work})" if args.workdir else ""
    _log(f"done in {time.perf_counter() - started:,.0f} s{kept}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
