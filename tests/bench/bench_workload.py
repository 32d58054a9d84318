"""Benchmark: the workload and backlog pages with 100,000 entries and a year of history,
server time on SQLite and PostgreSQL side by side (issue 15; target p95 < 300 ms).

Run with `make bench` (100,000 entries) or `python -m tests.bench.bench_workload --entries 5000`
to try it quickly (prints, writes nothing). One run, for each database:

1. a fresh store (a SQLite file; a new PostgreSQL database on the server named by
   BRIDGE_TEST_POSTGRES_URL, dropped afterwards), migrated, with the fixture staff and 60
   generated proxies in 12 teams of 3 providers, 6 managers and 300 officers needing a proxy;
2. 100,000 entries queued over the last 365 days, and a year of their work as audit events
   (queued, claimed, some claims lapsing and taken by another proxy, approved or returned,
   entered in ViSOR; the last weeks' still open), applied in time order through the same
   `bridge.store.workfacts.observe` the audit writer calls (and the back-fill uses): the
   facts and the weekly rollup are the ones live recording would have written;
3. the real app (`create_app` over a `Wiring`), signed in at /login as a manager, an
   administrator and a proxy, GETs round robin over the pages, each timed inside the ASGI app
   (bench_web's `ServerTimer`), with every page's view audited as in production;
4. n, p50, p95 and max per page per database go into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench.bench_web import ServerTimer, _p, _pg_version, _postgres_database, _sign_in

DEFAULT_ENTRIES = 100_000
TARGET_P95_MS = 300.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-workload-password-1"
PROVIDERS = ("N07", "N02", "N05")
MANAGER, ADMIN, PROXY = "N07M101", "ADM0001", "N07P101"
_CHUNK = 5000


def _log(message: str) -> None:
    print(f"[bench-workload {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


# -- the store --------------------------------------------------------------------------------


@dataclass
class Shape:
    entries: int = 0
    events: int = 0
    facts: int = 0
    weeks: int = 0
    open_entries: int = 0
    seconds_entries: float = 0.0
    seconds_facts: float = 0.0


def _teams() -> list[str]:
    return [f"{p}T{i:02d}" for p in PROVIDERS for i in range(4)]


def _staff_rows(now: datetime) -> list[dict[str, Any]]:
    from bridge.services.accounts import password_hasher

    hashed = password_hasher().hash(PASSWORD)
    teams = _teams()
    rows: list[dict[str, Any]] = []

    def person(code: str, roles: list[str], team: str | None, **extra: Any) -> None:
        rows.append(
            {
                "code": code,
                "name": f"Bench {code}",
                "roles": roles,
                "team": team,
                "manages": extra.pop("manages", []),
                "vetting_level": extra.pop("vetting_level", None),
                "vetting_expires": extra.pop("vetting_expires", None),
                "needs_proxy_since": extra.pop("needs_proxy_since", None),
                "needs_proxy_until": None,
                "active": True,
                "password_hash": hashed,
                "updated_at": now,
            }
        )

    expires = now.date() + timedelta(days=365)
    for i in range(60):
        team = teams[i % len(teams)]
        person(
            f"{team[:3]}P{101 + i:03d}",
            ["proxy"],
            team,
            vetting_level="NPPV2",
            vetting_expires=expires,
        )
    for i in range(6):
        team = teams[i * 2]
        person(f"{team[:3]}M{101 + i:03d}", ["manager"], team, manages=[team, teams[i * 2 + 1]])
    for i in range(300):
        team = teams[i % len(teams)]
        person(
            f"{team[:3]}A{101 + i:03d}",
            ["offender_manager"],
            team,
            needs_proxy_since=now.date() - timedelta(days=400),
        )
    return rows


def _build(url: str, entries: int, seed: int) -> Shape:
    """Migrate, add the staff, queue `entries` over a year and apply a year of their work."""
    from sqlalchemy import insert, text

    from bridge.store.db import make_engine, refresh_statistics
    from bridge.store.migrate import upgrade
    from bridge.store.models import Entry, Staff
    from bridge.store.workfacts import Observed, observe

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    rng = random.Random(seed)
    staff = _staff_rows(now)
    proxies = [s["code"] for s in staff if s["roles"] == ["proxy"]]
    officers = [s["code"] for s in staff if s["roles"] == ["offender_manager"]]
    shape = Shape(entries=entries)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Staff.__table__), staff)  # type: ignore[attr-defined]
        conn.execute(
            insert(Staff.__table__),  # type: ignore[attr-defined]
            [
                {
                    **staff[0],
                    "code": ADMIN,
                    "roles": ["admin"],
                    "team": None,
                    "vetting_level": None,
                    "vetting_expires": None,
                }
            ],
        )
    year = timedelta(days=365)
    events: list[tuple[datetime, int, str, str, str, dict[str, Any]]] = []
    rows: list[dict[str, Any]] = []
    for i in range(entries):
        created = now - year + timedelta(seconds=rng.uniform(0, year.total_seconds()))
        crn = f"X{rng.randrange(25_000):06d}"
        officer = rng.choice(officers)
        due = (created + timedelta(days=rng.choice((3, 4, 5)))).date()
        entry_id = i + 1
        age_days = (now - created).days
        status = "accepted"
        t = created
        events.append((t, entry_id, crn, "entry.queued", "system:sync", {}))
        fate = rng.random()
        if age_days < 21 and fate < 0.35:
            status = "pending" if fate < 0.25 else "claimed"
            if status == "claimed":
                events.append(
                    (
                        t + timedelta(hours=1),
                        entry_id,
                        crn,
                        "entry.claimed",
                        rng.choice(proxies),
                        {},
                    )
                )
        elif fate < 0.04:
            status = "superseded"
            events.append(
                (t + timedelta(hours=2), entry_id, crn, "entry.superseded", "system:sync", {})
            )
        else:
            proxy = rng.choice(proxies)
            t += timedelta(hours=rng.uniform(0.2, 96))
            events.append((t, entry_id, crn, "entry.claimed", proxy, {}))
            if rng.random() < 0.1:  # lapses; another proxy takes it
                t += timedelta(minutes=40)
                events.append(
                    (t, entry_id, crn, "entry.claim_expired", "system:review", {"was": proxy})
                )
                proxy = rng.choice(proxies)
                t += timedelta(minutes=rng.uniform(5, 600))
                events.append((t, entry_id, crn, "entry.claimed", proxy, {}))
            t += timedelta(minutes=rng.uniform(3, 45))
            if rng.random() < 0.05:
                status = "rejected"
                events.append((t, entry_id, crn, "entry.rejected", proxy, {}))
            else:
                events.append((t, entry_id, crn, "entry.approved", proxy, {"version": 1}))
                t += timedelta(minutes=rng.uniform(1, 60))
                if t > now:
                    status = "approved"
                else:
                    events.append((t, entry_id, crn, "entry.entered", proxy, {"reference": "V"}))
        rows.append(
            {
                "id": entry_id,
                "crn": crn,
                "section": "activity",
                "item_key": str(entry_id),
                "kind": "activity",
                "status": status,
                "version": 1,
                "xml": None,
                "content_hash": "0" * 64,
                "issues": [],
                "diff": [],
                "on_behalf_of": officer,
                "mapping_version": "bench",
                "source_occurred_at": created,
                "due_date": due,
                "created_at": created,
                "updated_at": created,
                "owning_force": "BENCH",
            }
        )
        shape.open_entries += status in ("pending", "claimed", "approved")
    with engine.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(Entry.__table__), rows[start : start + _CHUNK])  # type: ignore[attr-defined]
    shape.seconds_entries = time.perf_counter() - started
    events = [e for e in events if e[0] <= now]
    events.sort(key=lambda e: (e[0], e[1]))
    shape.events = len(events)
    _log(
        f"  {len(rows):,} entries in {shape.seconds_entries:,.0f} s; applying {len(events):,} events"
    )
    started = time.perf_counter()
    for start in range(0, len(events), _CHUNK):
        with engine.begin() as conn:
            observe(
                conn,
                [
                    Observed(action, actor, crn, entry_id, detail, at)
                    for at, entry_id, crn, action, actor, detail in events[start : start + _CHUNK]
                ],
            )
    shape.seconds_facts = time.perf_counter() - started
    with engine.connect() as conn:
        shape.facts = int(conn.execute(text("SELECT count(*) FROM workfact")).scalar_one())
        shape.weeks = int(conn.execute(text("SELECT count(*) FROM workweek")).scalar_one())
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    refresh_statistics(engine)
    engine.dispose()
    return shape


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    who: str
    url: str
    must: str  # text the real page has
    samples: list[float] = field(default_factory=list)


SCENARIOS = (
    ("Workload page, a manager (2 teams, 4 weeks)", MANAGER, "/workload", "Per proxy per week"),
    ("Workload page, a manager (2 teams, 12 weeks)", MANAGER, "/workload?weeks=12", "Per team"),
    (
        "Workload page, an administrator (every team's totals, 4 weeks)",
        ADMIN,
        "/workload",
        "Per provider",
    ),
    (
        "Workload page, an administrator (every team's totals, 12 weeks)",
        ADMIN,
        "/workload?weeks=12",
        "Per provider",
    ),
    (
        "Workload page, an administrator (one team by name, 12 weeks)",
        ADMIN,
        "/workload?team=N07T00&weeks=12",
        "Per proxy per week",
    ),
    ("Backlog page, a manager (12 weeks)", MANAGER, "/backlog", "Open entries at the end"),
    ("Backlog page, an administrator (12 weeks)", ADMIN, "/backlog", "Open entries at the end"),
    ("Workload CSV, an administrator (52 weeks)", ADMIN, "/workload.csv?weeks=52", "staff,week"),
    ("My work, a proxy (12 weeks)", PROXY, "/my-work", "Your work per week"),
)


def _measure(url: str, requests: int) -> list[Scenario]:
    from fastapi.testclient import TestClient

    from bridge.config import Settings
    from bridge.web.app import create_app
    from bridge.wiring import Wiring

    wiring = Wiring(Settings(database_url=url, environment="development"))
    timer = ServerTimer(create_app(wiring))
    scenarios = [Scenario(*s) for s in SCENARIOS]
    clients: dict[str, Any] = {}
    try:
        for who in {s.who for s in scenarios}:
            clients[who] = TestClient(timer)
            clients[who].__enter__()
            _sign_in(clients[who], who, PASSWORD)
        for sc in scenarios:  # warm-up, and proof that each page is the real one
            for _ in range(3):
                response = clients[sc.who].get(sc.url)
                if response.status_code != 200 or sc.must not in response.text:
                    raise SystemExit(f"{sc.url} as {sc.who}: HTTP {response.status_code}")
        for n in range(requests):
            for sc in scenarios:
                response = clients[sc.who].get(sc.url)
                if response.status_code != 200:
                    raise SystemExit(f"{sc.url}: HTTP {response.status_code}")
                sc.samples.append(timer.last_ms)
            if (n + 1) % max(1, requests // 4) == 0:
                _log(f"  {n + 1}/{requests} rounds")
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)
        wiring.close()
    return scenarios


@dataclass
class Run:
    name: str
    version: str
    shape: Shape
    scenarios: list[Scenario]


def _report(
    runs: list[Run], requests: int, code: str, load: tuple[float, float]
) -> tuple[str, bool]:
    first = runs[0].shape
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs; "
        + "; ".join(f"{r.name} {r.version}" for r in runs)
        + f"; code at {code}. Store: {first.entries:,} entries queued over 365 days under up to "
        f"25,000 CRNs ({first.open_entries:,} still open), 60 proxies in 12 teams of 3 providers, "
        f"6 managers, 300 officers needing a proxy; a year of work as {first.events:,} audited "
        "events (claims, lapsed claims re-taken by another proxy, approvals, returns, entries) "
        "applied through `bridge.store.workfacts.observe` in time order: "
        + " ".join(
            f"{r.name}: {r.shape.facts:,} facts and {r.shape.weeks:,} weekly rows written in "
            f"{r.shape.seconds_facts:,.0f} s ({r.shape.events / max(r.shape.seconds_facts, 0.001):,.0f} "
            "events a second, the back-fill's rate too)."
            for r in runs
        ),
        "",
        f"Server time of signed-in GETs, {requests} of each per database (after 3 warm-up "
        f"requests), round robin; every view audited (`workload.viewed`). Target p95 < "
        f"{TARGET_P95_MS:.0f} ms for the workload and backlog pages.",
        "",
        "| database | page | n | p50 | p95 | max | verdict |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    ok = True
    for run in runs:
        for sc in run.scenarios:
            p95 = _p(sc.samples, 0.95)
            good = p95 < TARGET_P95_MS
            ok = ok and good
            lines.append(
                f"| {run.name} | {sc.name} | {len(sc.samples)} | {_p(sc.samples, 0.5):.1f} ms | "
                f"{p95:.1f} ms | {max(sc.samples):.1f} ms | {'meets' if good else 'MISSES'} |"
            )
    lines += [
        "",
        "The pages read the weekly rollup (`workweek`: one row per person, team and week; a few "
        "hundred to a few thousand rows for these views) and, for the backlog, one index-only "
        "GROUP BY over the open entries' facts and those closed in the weeks shown "
        "(`ix_workfact_backlog`): never a year of facts. The 1-minute load average was "
        f"{load[0]:.2f} when the run started and {load[1]:.2f} when it ended.",
    ]
    return "\n".join(lines), ok


def _sqlite_database(work: Path) -> Iterator[str]:
    yield f"sqlite:///{work / 'bench-workload.db'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--report", type=Path, help="write the section here")
    args = parser.parse_args(argv)

    from contextlib import contextmanager

    from bridge.logs import configure_logging
    from tests.bench.bench_sync import _code_version
    from tests.bench.bench_web import DOC

    configure_logging(verbose=False)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    server = os.environ.get("BRIDGE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-workload-") as folder:
        work = Path(folder)
        for db in [d.strip() for d in args.databases.split(",") if d.strip()]:
            if db == "sqlite":
                database, name, version = (
                    contextmanager(_sqlite_database)(work),
                    "SQLite",
                    sqlite3.sqlite_version,
                )
            elif db == "postgres":
                database, name, version = _postgres_database(server), "PostgreSQL", ""
            else:
                parser.error(f"unknown database {db!r}")
            with database as url:
                if db == "postgres":
                    version = _pg_version(url)
                _log(f"{name}: building {args.entries:,} entries and a year of work")
                shape = _build(url, args.entries, args.seed)
                _log(f"{name}: {shape.facts:,} facts, {shape.weeks:,} weekly rows; measuring")
                runs.append(Run(name, version, shape, _measure(url, args.requests)))
    body, ok = _report(runs, args.requests, _code_version(), (load, os.getloadavg()[0]))
    print(body)  # noqa: T201
    report = args.report or (DOC if args.entries == DEFAULT_ENTRIES else None)
    if report is not None:
        from tests.bench.report import write_section

        write_section(report, "workload", body)
        _log(f"wrote the workload section of {report}")
    _log(f"done in {time.perf_counter() - started:,.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
