"""The whole system as real processes over loopback, for the whole-system load run.

A fresh PostgreSQL database on a local server, migrated with `visor-bridge db upgrade`; a staff
file (every offender manager the case generator uses needs a proxy, so every case is in scope,
plus P vetted proxies) imported with `visor-bridge staff import` and the proxies' passwords set
with `visor-bridge staff set-password --password-stdin`; `visor-bridge fixtures generate` cases
served by `visor-bridge sim ndelius`; `visor-bridge sim visor` with a share of its record posts
answered 503; a first `visor-bridge sync` (the full reconciliation a new installation does),
then `VACUUM (ANALYZE)` and `CHECKPOINT` as an operator does after it (docs/operations.md);
then TWO `visor-bridge serve` and TWO `visor-bridge scheduler` processes on that database, each
serving /metrics on an address of its own. Used by `tests/bench/bench_system.py` and by
`tests/test_system_smoke.py`; everything is stopped (SIGTERM, then SIGKILL) and the database
dropped on the way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENT = ("bridge-bench", "bridge-bench-client-secret-0123456789")
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-system-password-1"

__all__ = ["PASSWORD", "Plan", "System", "free_port", "postgres_server", "running_system"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_server() -> str:
    """The server in BRIDGE_TEST_POSTGRES_URL, else postgres@127.0.0.1:5432."""
    return os.environ.get("BRIDGE_TEST_POSTGRES_URL") or DEFAULT_SERVER


@dataclass(frozen=True)
class Plan:
    """What to start: sizes, schedule and faults."""

    cases: int
    proxies: int
    seed: int = 20261205
    sync_interval: int = 30
    submit_interval: int = 20
    visor_fault_rate: float = 0.05
    instances: int = 2  # web instances, and as many schedulers
    #: The smoke test's set-up: cases, schema, staff and passwords written in this process
    #: (the same functions the commands call), and no separate first sync (the schedulers'
    #: first run is the full reconciliation), so the system is up in seconds.
    fast: bool = False


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    metrics: str | None = None  # host:port of its /metrics


@dataclass
class System:
    """The running system: where everything is, and how to run a CLI command against it."""

    work: Path
    database_url: str
    env: dict[str, str]
    ndelius: str
    visor: str
    web: list[str]
    data: Path
    proxies: list[str]
    procs: list[Proc] = field(default_factory=list)
    fast: bool = False
    setup_seconds: dict[str, float] = field(default_factory=dict)
    first_sync: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        return _cli(self.env, self.work, *args, stdin=stdin, check=check)

    def verify_audit(self) -> dict[str, Any]:
        """`visor-bridge audit verify --json`; in process with the same settings when fast."""
        if not self.fast:
            out = self.cli("audit", "verify", "--json", check=False)
            return dict(json.loads(out)) if out.strip() else {"ok": False}
        from bridge.config import Settings
        from bridge.wiring import Wiring

        names = {"BRIDGE_DATABASE_URL": "database_url", "BRIDGE_AUDIT_KEY": "audit_key"}
        given: dict[str, Any] = {v: self.env[k] for k, v in names.items()}
        wiring = Wiring(Settings(environment="development", **given))
        try:
            found = wiring.audit_log.verify()
        finally:
            wiring.close()
        return {"ok": found.ok, "events": found.events, "first_bad": found.first_bad}

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self.procs}


def _command() -> list[str]:
    script = Path(sys.executable).parent / "visor-bridge"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bridge.cli import main; main()"]


def _cli(env: dict[str, str], cwd: Path, *args: str, stdin: str | None, check: bool) -> str:
    done = subprocess.run(
        [*_command(), *args],
        cwd=cwd,
        env=env,
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        timeout=1800,
        check=False,
    )
    if check and done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"visor-bridge {' '.join(args[:2])} exited {done.returncode}: {tail}")
    return done.stdout.decode()


def _staff_file(path: Path, proxies: list[str]) -> None:
    from bridge.sim.generate_pools import STAFF, TEAMS

    team = TEAMS[0][0]
    staff: list[dict[str, Any]] = [
        {
            "code": code,
            "name": f"{forenames} {surname}",
            "roles": ["offender_manager"],
            "team": team,
            "needsProxy": {"since": "2025-01-06", "until": None},
        }
        for code, forenames, surname in STAFF
    ]
    staff += [
        {
            "code": code,
            "name": f"Load Proxy {n}",
            "roles": ["proxy"],
            "team": team,
            "vetting": {"level": "NPPV2", "expires": "2099-12-31"},
        }
        for n, code in enumerate(proxies, start=1)
    ]
    path.write_text(json.dumps({"staff": staff}, indent=1), encoding="utf-8")


def _database(server: str) -> contextlib.AbstractContextManager[str]:
    from tests.bench.bench_web import _postgres_database

    return _postgres_database(server, "bench_system")


def _start(system: System, name: str, args: list[str], extra: dict[str, str]) -> Proc:
    log = (system.work / "logs" / f"{name}.log").open("wb")
    popen = subprocess.Popen(
        [*_command(), *args],
        cwd=system.work,
        env={**system.env, **extra},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    proc = Proc(name, popen, extra.get("BRIDGE_METRICS_ADDRESS"))
    system.procs.append(proc)
    return proc


def _wait_for(proc: Proc, url: str, work: Path, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited: see {work / 'logs' / (proc.name + '.log')}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=5.0).status_code < 500:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not answer {url} within {seconds:.0f} s")
        time.sleep(0.2)


def _stop(procs: list[Proc]) -> None:
    for proc in reversed(procs):
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.popen.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait()


def _timed(system: System, name: str, started: float) -> None:
    system.setup_seconds[name] = time.perf_counter() - started


@contextlib.contextmanager
def running_system(plan: Plan, work: Path, server: str | None = None) -> Iterator[System]:
    """Start everything (see the module's docstring); stop it all and drop the database after."""
    (work / "logs").mkdir(parents=True, exist_ok=True)
    proxies = [f"N07P{901 + n:03d}" for n in range(plan.proxies)]
    with _database(server or postgres_server()) as url:
        ports = {k: free_port() for k in ("ndelius", "visor")}
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            {
                # Development keeps local passwords, which the simulated proxies sign in with;
                # every secret is still a real one.
                "BRIDGE_ENVIRONMENT": "development",
                "BRIDGE_DATABASE_URL": url,
                "BRIDGE_SECRET_KEY": secrets.token_urlsafe(48),
                "BRIDGE_AUDIT_KEY": secrets.token_urlsafe(48),
                "BRIDGE_NDELIUS_URL": f"http://127.0.0.1:{ports['ndelius']}",
                "BRIDGE_NDELIUS_CLIENT_ID": CLIENT[0],
                "BRIDGE_NDELIUS_CLIENT_SECRET": CLIENT[1],
                "BRIDGE_SINK": "visor-http",
                "BRIDGE_VISOR_URL": f"http://127.0.0.1:{ports['visor']}",
                "BRIDGE_SYNC_INTERVAL_SECONDS": str(plan.sync_interval),
                "BRIDGE_SUBMIT_INTERVAL_SECONDS": str(plan.submit_interval),
                "BRIDGE_HTTP_MAX_WAIT_SECONDS": "2",
            }
        )
        system = System(
            work=work,
            database_url=url,
            env=env,
            ndelius=env["BRIDGE_NDELIUS_URL"],
            visor=env["BRIDGE_VISOR_URL"],
            web=[],
            data=work / "cases",
            proxies=proxies,
            fast=plan.fast,
        )
        try:
            _prepare(system, plan, ports)
            yield system
        finally:
            _stop(system.procs)


def _prepare_here(system: System, plan: Plan, staff: Path) -> None:
    """What `fixtures generate`, `db upgrade`, `staff import` and `staff set-password` do,
    in this process (the smoke test's set-up)."""
    from datetime import UTC, datetime

    from sqlalchemy import update
    from sqlmodel import col

    from bridge.audit import use_keyring
    from bridge.core.audit_chain import Keyring
    from bridge.services.accounts import password_hasher
    from bridge.services.staff import import_staff, parse_staff_file
    from bridge.sim.generate import generate_cases
    from bridge.store.db import make_engine, session_scope
    from bridge.store.migrate import upgrade
    from bridge.store.models import Staff

    generate_cases(cases=plan.cases, seed=plan.seed, out_dir=system.data)
    engine = make_engine(system.database_url)
    use_keyring(engine, Keyring.of([system.env["BRIDGE_AUDIT_KEY"]]))  # as the wiring binds it
    upgrade(engine)
    with session_scope(engine) as s:
        import_staff(s, parse_staff_file(staff), now=datetime.now(UTC), actor="system:bench")
        hashed = password_hasher().hash(PASSWORD)
        s.exec(
            update(Staff).where(col(Staff.code).in_(system.proxies)).values(password_hash=hashed)
        )  # type: ignore[call-overload]
    engine.dispose()


def _prepare(system: System, plan: Plan, ports: dict[str, int]) -> None:
    started = time.perf_counter()
    staff = system.work / "staff.json"
    _staff_file(staff, system.proxies)
    if plan.fast:
        _prepare_here(system, plan, staff)
        _timed(system, "cases, schema, staff and passwords (in process)", started)
        _start_processes(system, plan, ports)
        return
    with ThreadPoolExecutor(2) as pool:
        generated = pool.submit(
            system.cli,
            *("fixtures", "generate", "--cases", str(plan.cases), "--seed", str(plan.seed)),
            *("--out", str(system.data)),
        )
        system.cli("db", "upgrade")
        system.cli("staff", "import", str(staff))
        generated.result()
    _timed(system, "generate cases, db upgrade, staff import", started)
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda code: system.cli(
                    "staff", "set-password", code, "--password-stdin", stdin=PASSWORD + "\n"
                ),
                system.proxies,
            )
        )
    _timed(system, f"set {len(system.proxies)} passwords", started)
    _start_processes(system, plan, ports)


def _start_web(system: System, plan: Plan) -> list[tuple[Proc, str]]:
    waits = []
    for n in range(plan.instances):
        web_port, metrics = free_port(), f"127.0.0.1:{free_port()}"
        args = ["serve", "--port", str(web_port)]
        proc = _start(system, f"web-{n + 1}", args, {"BRIDGE_METRICS_ADDRESS": metrics})
        system.web.append(f"http://127.0.0.1:{web_port}")
        waits.append((proc, f"http://127.0.0.1:{web_port}/readyz"))
    return waits


def _start_schedulers(system: System, plan: Plan) -> list[tuple[Proc, str]]:
    waits = []
    for n in range(plan.instances):
        metrics = f"127.0.0.1:{free_port()}"
        extra = {"BRIDGE_METRICS_ADDRESS": metrics}
        proc = _start(system, f"scheduler-{n + 1}", ["scheduler"], extra)
        waits.append((proc, f"http://{metrics}/metrics"))
    return waits


def _after_bulk_load(url: str) -> None:
    """What an operator does after a new installation's first full sync (docs/operations.md):
    the planner's statistics and the visibility map brought up to date, and the dirty pages
    written, now rather than by autovacuum and the checkpointer during the first work."""
    from sqlalchemy import text

    from bridge.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            conn.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


def _start_processes(system: System, plan: Plan, ports: dict[str, int]) -> None:
    """The simulators; the first sync (unless fast); the web instances and schedulers."""
    started = time.perf_counter()
    port = str(ports["ndelius"])
    sim_args = ["sim", "ndelius", "--data", str(system.data), "--port", port]
    sim = _start(system, "sim-ndelius", sim_args, {})
    vis = _start(system, "sim-visor", ["sim", "visor", "--port", str(ports["visor"])], {})
    # Fast: everything at once (a scheduler whose first sync finds no simulator yet runs again
    # at the next interval); else the first sync, then the web instances and schedulers.
    waits = _start_web(system, plan) + _start_schedulers(system, plan) if plan.fast else []
    _wait_for(sim, f"{system.ndelius}/events?after=0&limit=0", system.work, 600)
    _wait_for(vis, f"{system.visor}/records?crn=X000000", system.work)
    if plan.visor_fault_rate > 0:
        fault = {"path": "^/records$", "status": 503, "rate": plan.visor_fault_rate}
        fault_rule = {**fault, "seconds": 86_400}
        httpx.post(f"{system.visor}/__admin/faults", json=fault_rule).raise_for_status()
    _timed(system, "start the simulators", started)
    if not plan.fast:
        started = time.perf_counter()
        system.first_sync = json.loads(system.cli("sync", "--json"))
        _timed(system, "first sync (full reconciliation)", started)
        started = time.perf_counter()
        _after_bulk_load(system.env["BRIDGE_DATABASE_URL"])
        _timed(system, "VACUUM (ANALYZE) and CHECKPOINT after the first sync", started)
        started = time.perf_counter()
        waits = _start_web(system, plan) + _start_schedulers(system, plan)
    for proc, url in waits:
        _wait_for(proc, url, system.work)
    _timed(system, f"start {plan.instances} web instances and {plan.instances} schedulers", started)
