"""Benchmark: server time of the queue, entry and task pages with 100,000 entries, SQLite and PostgreSQL.

Run with `make bench` (100,000 entries) or `python -m tests.bench.bench_web --entries 5000` to try
it quickly (prints, writes nothing). One run:

1. syncs the fixture cases once (the nDelius simulator in a thread) to get real entries: their
   XML, diff, issues and audit events (`tests/bench/web_store.py`);
2. for each database, a fresh store (a SQLite file; a new PostgreSQL database on the server named
   by BRIDGE_TEST_POSTGRES_URL, dropped afterwards), migrated, with the fixture staff, filled by
   bulk Core INSERTs with copies of those entries under ~25,000 generated CRNs (states, due
   dates, forces, exclusions, restrictions, versions, baselines and a hash-chained audit log);
3. builds the real app (`create_app` over a `Wiring`, the system clock), signs in at /login as
   the fixture proxy N07P004 and sends signed-in GETs through Starlette's TestClient, round
   robin over the scenarios so that other load on the machine falls on all of them alike;
4. times each request inside the ASGI app (a wrapper around the whole app, middleware included:
   from the call until the last body chunk is handed over) and, per request, every SQL
   statement (SQLAlchemy cursor events), so a slow page names its slow query; a page whose p95
   misses the target gets that query's plan (EXPLAIN ANALYZE / EXPLAIN QUERY PLAN) in the output;
5. writes n, p50, p95 and max per page per database, with the verdicts, into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_ENTRIES = 100_000
TARGET_P95_MS = 150.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-web-password-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _log(message: str) -> None:
    print(f"[bench-web {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


# -- timing inside the app ------------------------------------------------------------------------


class ServerTimer:
    """ASGI wrapper: the server time of the last request, and the SQL it ran."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0
        self.statements: list[tuple[float, str, Any]] = []  # (ms, SQL, parameters)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.statements = []
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = 1000 * (time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed_send)

    def watch(self, engine: Any) -> None:
        from sqlalchemy import event

        def before(conn: Any, _cursor: Any, *_args: Any) -> None:
            conn.info["bench_started"] = time.perf_counter()

        def after(conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            ms = 1000 * (time.perf_counter() - conn.info.pop("bench_started"))
            self.statements.append((ms, statement, parameters))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)


# -- scenarios --------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    page: str  # "queue" or "entry": which target it counts towards
    url: Callable[[random.Random], str]
    check: Callable[[str, str], None]  # (url, body) -> raises if the page is not the real one
    samples: list[float] = field(default_factory=list)
    # SQL statement -> per-request milliseconds, and the slowest call's parameters.
    sql: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sql_params: dict[str, tuple[float, Any]] = field(default_factory=dict)
    statements_per_request: list[int] = field(default_factory=list)


def _queue_page_check(url: str, body: str) -> None:
    if 'href="/entries/' not in body and 'id="queue-count"' not in body:
        raise SystemExit(f"{url}: no entry links (is the queue page built yet?)")


def _entry_page_check(url: str, body: str) -> None:
    entry_id = url.rsplit("/", 1)[1].split("?")[0]
    if f"Entry {entry_id}" not in body:
        raise SystemExit(f"{url}: no 'Entry {entry_id}' on the page (is the entry page built yet?)")


def _tasks_check(url: str, body: str) -> None:
    if 'id="tasks"' not in body and 'id="no-tasks"' not in body:
        raise SystemExit(f"{url}: no task table (is the tasks page built yet?)")


def _task_check(url: str, body: str) -> None:
    if "govuk-task-list" not in body:
        raise SystemExit(f"{url}: no task list (is the task page built yet?)")


def _api_check(url: str, body: str) -> None:
    if not body.startswith("{"):
        raise SystemExit(f"{url}: not JSON")


def _scenarios(facts: dict[str, Any]) -> list[Scenario]:
    crns, visible, forces = facts["crns"], facts["visible_ids"], facts["forces"]
    pages = facts["pages"]
    kinds = ("nominal-create", "nominal-update", "activity")

    def filtered(rng: random.Random) -> str:
        params = {
            "state": rng.choice(("", "pending", "claimed", "approved")),
            "force": rng.choice(("", *forces)),
            "due": rng.choice(("", "overdue", "today", "week")),
            "kind": rng.choice(("", *kinds)),
        }
        if not any(params.values()):
            params["force"] = rng.choice(forces)
        return "/queue?" + "&".join(f"{k}={v.replace(' ', '+')}" for k, v in params.items())

    def deep(rng: random.Random) -> str:
        return f"/queue?page={rng.choice((pages, pages - 1, rng.randint(2, pages)))}"

    return [
        Scenario("queue page: default (page 1)", "queue", lambda rng: "/queue", _queue_page_check),
        Scenario(
            "queue page: filters (state, force, due, kind)", "queue", filtered, _queue_page_check
        ),
        Scenario(f"queue page: deep pages (2 to {pages:,})", "queue", deep, _queue_page_check),
        Scenario(
            "queue page: CRN search",
            "queue",
            lambda rng: f"/queue?crn={rng.choice(crns)}",
            _queue_page_check,
        ),
        Scenario(
            "entry page: random entries (audited view)",
            "entry",
            lambda rng: f"/entries/{rng.choice(visible)}",
            _entry_page_check,
        ),
        Scenario("tasks listing: default (page 1)", "task", lambda rng: "/tasks", _tasks_check),
        Scenario(
            "tasks listing: CRN search",
            "task",
            lambda rng: f"/tasks?q={rng.choice(crns)}",
            _tasks_check,
        ),
        Scenario(
            "task page: random cases (audited view of each entry)",
            "task",
            lambda rng: f"/tasks/{rng.choice(facts['task_crns'])}",
            _task_check,
        ),
        Scenario("GET /api/queue (default)", "api", lambda rng: "/api/queue", _api_check),
        Scenario(
            "GET /api/entries/{id} (audited view)",
            "api",
            lambda rng: f"/api/entries/{rng.choice(visible)}",
            _api_check,
        ),
    ]


# -- databases ----------------------------------------------------------------------------------


@contextmanager
def _sqlite_database(work: Path) -> Iterator[str]:
    yield f"sqlite:///{work / 'bench-web.db'}"


@contextmanager
def _postgres_database(server: str, prefix: str = "bench_web") -> Iterator[str]:
    """A fresh database on `server` for one run (its URL), dropped afterwards."""
    from sqlalchemy import text

    from bridge.store.db import make_engine

    admin = make_engine(server)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(url: str, work: Path, template: Any, entries: int, seed: int) -> Any:
    """Migrate, import the fixture staff (all with PASSWORD), and fill the store."""
    from sqlalchemy import update

    from bridge.services.accounts import password_hasher
    from bridge.services.staff import import_staff, parse_staff_file
    from bridge.store.db import make_engine, session_scope
    from bridge.store.migrate import upgrade
    from bridge.store.models import Staff
    from tests.bench.web_store import build_store
    from tests.builders import staff_file

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        import_staff(
            s, parse_staff_file(staff_file(work, now.date())), now=now, actor="system:bench"
        )
        s.exec(update(Staff).values(password_hash=password_hasher().hash(PASSWORD)))  # type: ignore[call-overload]
    shape = build_store(engine, template, entries=entries, seed=seed)
    engine.dispose()
    return shape


def _facts(wiring: Any) -> dict[str, Any]:
    """What the scenarios pick from: CRNs, entries the proxy may open, forces, page count."""
    from sqlmodel import Session, col, select

    from bridge.core.lifecycle import case_allows
    from bridge.services.queue_view import QueueFilters
    from bridge.store.models import CaseState, Entry, Staff
    from tests.bench.web_store import PROXY

    with Session(wiring.engine) as s:
        staff = s.get(Staff, PROXY)
        assert staff is not None
        allowed = {
            c.crn
            for c in s.exec(select(CaseState))
            if case_allows(staff.code, c.on_behalf_of, c.excluded_from, c.restricted_to)
        }
        ids = [
            i
            for i, crn in s.exec(select(Entry.id, Entry.crn).order_by(col(Entry.id)))
            if crn in allowed
        ]
    first = wiring.queue.page(actor=PROXY, filters=QueueFilters(), page=1, per_page=25)
    tasks = wiring.tasks.listing(actor=PROXY, limit=500, count=False)
    return {
        "task_crns": [row.crn for row in tasks.rows],
        "crns": sorted(allowed),
        "visible_ids": ids,
        "forces": first.forces,
        "pages": first.pages,
        "waiting_visible": first.total,
    }


def _sign_in(client: Any, code: str | None = None, password: str = PASSWORD) -> None:
    """Sign `client` in through the form (the proxy of the web store unless `code`)."""
    from tests.bench.web_store import PROXY

    code = code or PROXY
    token = _CSRF.search(client.get("/login").text)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login",
        data={"username": code, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise SystemExit(f"sign-in as {code} failed: {response.status_code}")


def _measure(
    url: str, requests: int, seed: int, pages: set[str]
) -> tuple[list[Scenario], dict[str, Any]]:
    from fastapi.testclient import TestClient

    from bridge.config import Settings
    from bridge.web.app import create_app
    from bridge.wiring import Wiring

    wiring = Wiring(Settings(database_url=url, environment="development"))
    timer = ServerTimer(create_app(wiring))
    facts = _facts(wiring)
    timer.watch(wiring.engine)
    scenarios = [sc for sc in _scenarios(facts) if sc.page in pages]
    rng = random.Random(seed)
    with TestClient(timer) as client:
        _sign_in(client)
        for scenario in scenarios:  # warm-up: templates compiled, connections pooled
            for _ in range(3):
                target = scenario.url(rng)
                response = client.get(target)
                if response.status_code != 200:
                    raise SystemExit(f"{target}: HTTP {response.status_code}")
                scenario.check(target, response.text)
        for n in range(requests):
            for scenario in scenarios:
                target = scenario.url(rng)
                response = client.get(target)
                if response.status_code != 200:
                    raise SystemExit(f"{target}: HTTP {response.status_code}")
                scenario.samples.append(timer.last_ms)
                scenario.statements_per_request.append(len(timer.statements))
                per_statement: dict[str, float] = defaultdict(float)
                for ms, sql, params in timer.statements:
                    per_statement[sql] += ms
                    if ms > scenario.sql_params.get(sql, (-1.0, None))[0]:
                        scenario.sql_params[sql] = (ms, params)
                for sql, ms in per_statement.items():
                    scenario.sql[sql].append(ms)
            if (n + 1) % max(1, requests // 5) == 0:
                _log(f"  {n + 1}/{requests} rounds")
    wiring.close()
    return scenarios, facts


# -- numbers and the report -----------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _slowest_sql(scenario: Scenario) -> tuple[str, float, float]:
    """The statement with the most time across the scenario: (SQL, mean ms, p95 ms)."""
    sql, times = max(scenario.sql.items(), key=lambda kv: sum(kv[1]))
    n = len(scenario.samples)
    return sql, sum(times) / n, _p(times + [0.0] * (n - len(times)), 0.95)


_LONG_LIST = re.compile(r"((?:[^,(){}]+,\s*){8})(?:[^,(){}]+,\s*)+([^,(){}]+)(?=[)}])")


def _shorten_lists(text: str) -> str:
    """Long IN lists (placeholders or a plan's array of CRNs) as their first items and a count."""
    text = re.sub(r"%\(\w+\)s(?:::\w+)?", "?", text)  # psycopg's named parameters
    return _LONG_LIST.sub(lambda m: f"{m.group(1)}… ({m.group(0).count(',') + 1} items)", text)


def _explain(url: str, sql: str, params: Any) -> str:
    from sqlalchemy import create_engine

    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return "(not a query: no plan)"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).all()
                return "\n".join(str(r[0]) for r in rows)
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            return "\n".join(" | ".join(str(c) for c in r) for r in rows)
    finally:
        engine.dispose()


@dataclass
class DatabaseRun:
    name: str  # "SQLite" / "PostgreSQL"
    version: str
    shape: Any
    facts: dict[str, Any]
    scenarios: list[Scenario]
    size_mb: float
    explains: dict[str, tuple[str, str]] = field(default_factory=dict)  # scenario -> (SQL, plan)


def _db_size_mb(url: str) -> float:
    from sqlalchemy import text

    from bridge.store.db import make_engine

    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    engine = make_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return float(size) / 2**20


def _pg_version(url: str) -> str:
    from sqlalchemy import text

    from bridge.store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        version = str(conn.execute(text("SHOW server_version")).scalar_one())
    engine.dispose()
    return version.split(" ")[0]


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def _report(runs: list[DatabaseRun], r: dict[str, Any]) -> tuple[str, bool]:
    first = runs[0].shape
    states = ", ".join(f"{k} {v:,}" for k, v in first.by_state.items())
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}); "
        + "; ".join(f"{run.name} {run.version}" for run in runs)
        + f"; code at {r['code']}. Store: {first.entries:,} entries under {first.crns:,} CRNs "
        f"({states}; {first.waiting:,} still waiting), {first.audit_events:,} audit events; "
        f"{first.hidden_crns:,} cases hidden from the proxy by an exclusion or restriction and "
        f"{first.own_crns:,} managed by the proxy. "
        + " ".join(
            f"{run.name}: built in {run.shape.seconds:,.0f} s, {run.size_mb:,.0f} MB; "
            f"the proxy's default queue {run.facts['waiting_visible']:,} entries "
            f"({run.facts['pages']:,} pages of 25)."
            for run in runs
        ),
        "",
        f"Server time of signed-in GETs as the proxy N07P004, {r['requests']} of each per database "
        "(after 3 warm-up requests), round robin over the pages; target p95 "
        f"< {TARGET_P95_MS:.0f} ms for the queue, entry and task pages (the API rows are for "
        "information).",
        "",
        "| database | page | n | p50 | p95 | max | SQL statements | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    ok = True
    for run in runs:
        for sc in run.scenarios:
            p95 = _p(sc.samples, 0.95)
            good = p95 < TARGET_P95_MS
            if sc.page != "api":
                ok = ok and good
            verdict = _verdict(good) if sc.page != "api" else ("(under)" if good else "(over)")
            lines.append(
                f"| {run.name} | {sc.name} | {len(sc.samples)} | {_p(sc.samples, 0.5):.1f} ms | "
                f"{p95:.1f} ms | {max(sc.samples):.1f} ms | "
                f"{statistics.median(sc.statements_per_request):.0f} | {verdict} |"
            )
    lines += [
        "",
        "The slowest statement of each page (most SQL time over its requests; mean and p95 per "
        "request):",
        "",
        "| database | page | statement | mean | p95 |",
        "|---|---|---|---:|---:|",
    ]
    for run in runs:
        for sc in run.scenarios:
            sql, mean, p95 = _slowest_sql(sc)
            short = " ".join(sql.split())
            short = short if len(short) <= 110 else short[:107] + "..."
            lines.append(
                f"| {run.name} | {sc.name} | `{short.replace('|', '/')}` | {mean:.1f} ms | "
                f"{p95:.1f} ms |"
            )
    for run in runs:
        for name, (sql, plan) in run.explains.items():
            lines += [
                "",
                f"**{run.name}, {name}: p95 over the target.** Its slowest statement, and its "
                "plan with the parameters of its slowest call:",
                "",
                "```sql",
                _shorten_lists(" ".join(sql.split())),
                "```",
                "",
                "```",
                _shorten_lists(plan),
                "```",
            ]
    lines += [
        "",
        f"The 1-minute load average on the {os.cpu_count()} CPUs was {r['load']:.2f} when the run "
        f"started and {r['load_end']:.2f} when it ended (the benchmark's own processes count in "
        "it; anything above about 1 means requests waited for a CPU, which shows in the tail: "
        "p95 and max). The round robin spreads that over every page alike.",
    ]
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument("--target-ms", type=float, default=TARGET_P95_MS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--pages",
        default="queue,entry,task,api",
        help="comma-separated: queue, entry, task, api",
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="write the section here (default: docs/BENCHMARKS.md, only for the full size)",
    )
    args = parser.parse_args(argv)

    from bridge.logs import configure_logging
    from tests.bench.bench_sync import _code_version
    from tests.bench.web_store import sync_template
    from tests.builders import FIXTURES

    configure_logging(verbose=False)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    code = _code_version()
    _log("syncing the fixture cases once for template entries")
    template = sync_template(FIXTURES)
    _log(f"{template.entries} template entries from {len(template.cases)} cases")
    server = os.environ.get("BRIDGE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    runs: list[DatabaseRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        work = Path(folder)
        for db in [d.strip() for d in args.databases.split(",") if d.strip()]:
            if db == "sqlite":
                database, name, version = _sqlite_database(work), "SQLite", sqlite3.sqlite_version
            elif db == "postgres":
                database, name, version = _postgres_database(server), "PostgreSQL", ""
            else:
                parser.error(f"unknown database {db!r}")
            with database as url:
                if db == "postgres":
                    version = _pg_version(url)
                _log(f"{name}: building a store of {args.entries:,} entries")
                shape = _prepare(url, work, template, args.entries, args.seed)
                _log(
                    f"{name}: {shape.entries:,} entries, {shape.crns:,} CRNs, "
                    f"{shape.audit_events:,} audit events in {shape.seconds:,.0f} s; measuring"
                )
                scenarios, facts = _measure(
                    url, args.requests, args.seed, set(args.pages.split(","))
                )
                run = DatabaseRun(name, version, shape, facts, scenarios, _db_size_mb(url))
                for sc in scenarios:
                    if _p(sc.samples, 0.95) >= args.target_ms:
                        sql, _, _ = _slowest_sql(sc)
                        _, params = sc.sql_params[sql]
                        run.explains[sc.name] = (sql, _explain(url, sql, params))
                runs.append(run)
    r = {
        "code": code,
        "requests": args.requests,
        "load": load,
        "load_end": os.getloadavg()[0],
    }
    body, ok = _report(runs, r)
    print(body)  # noqa: T201
    report = args.report or (DOC if args.entries == DEFAULT_ENTRIES else None)
    if report is not None:
        from tests.bench.report import write_section

        write_section(report, "web", body)
        _log(f"wrote the web section of {report}")
    else:
        _log(
            f"not written to {DOC.name}: only a {DEFAULT_ENTRIES:,}-entry run is (or pass --report)"
        )
    _log(f"done in {time.perf_counter() - started:,.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
