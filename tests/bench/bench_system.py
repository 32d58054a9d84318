"""Benchmark: the whole system under a working day's load, measured side by side in one run.

Run with `make bench` or `python -m tests.bench.bench_system [--minutes 10 --proxies 20
--cases 20000]`: PostgreSQL (a fresh database on the server in BRIDGE_TEST_POSTGRES_URL, else
postgres@127.0.0.1:5432), the nDelius simulator with the generated cases and one change a
second, the ViSOR simulator answering 5% of record posts with 503, two `visor-bridge serve` and
two `visor-bridge scheduler` processes, and simulated proxies working tasks over HTTP with a
seeded think time (see tests/bench/system_topology.py, system_proxy.py, system_checks.py).
The report goes into the "Whole system" section of docs/BENCHMARKS.md with issue 19's targets;
`--json PATH` keeps every number, and `--from-json PATH` writes the report from such a file
without running anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
PAGE_P95_MS = 150.0
CLAIM_NEXT_P95_MS = 20.0
CHANGE_TO_QUEUE_P95_S = 60.0
CLAIM_NEXT = "POST /tasks/claim-next"


def _log(message: str) -> None:
    print(f"[bench-system {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


def _machine(database_url: str | None = None) -> dict[str, Any]:
    model = ""
    memory = 0.0
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in cpuinfo.splitlines()
                if ln.startswith("model name")
            ),
            "",
        )
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        memory = int(next(ln for ln in meminfo if ln.startswith("MemTotal")).split()[1]) / 2**20
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(),
        "model": model,
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def _postgres_version() -> str:
    from sqlalchemy import text

    from bridge.store.db import make_engine
    from tests.bench.system_topology import postgres_server

    engine = make_engine(postgres_server())
    try:
        with engine.connect() as c:
            return str(c.execute(text("SHOW server_version")).scalar_one()).split(" ")[0]
    finally:
        engine.dispose()


def _code_version() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes" if dirty else "")


def _ms(value: float) -> str:
    return (
        "n/a"
        if value is None or math.isnan(value)
        else f"{value:,.0f}"
        if value >= 100
        else f"{value:.1f}"
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _pages(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The routes a person waits on (every request the proxies sent)."""
    return {k: v for k, v in r["client"].items() if not k.startswith("_")}


def _targets(r: dict[str, Any]) -> tuple[list[str], bool]:
    pages = _pages(r)
    worst_route, worst = max(((k, v["p95"]) for k, v in pages.items()), key=lambda kv: kv[1])
    server_worst_route, server_worst = max(
        ((k, v["p95"]) for k, v in r["server"].items() if k in pages),
        key=lambda kv: kv[1],
        default=("n/a", math.nan),
    )
    claim = pages.get(CLAIM_NEXT, {}).get("p95", math.nan)
    claim_server = r["server"].get(CLAIM_NEXT, {}).get("p95", math.nan)
    c = r["changes"]
    dc = r["double_claims"]
    doubled = sorted(set(dc["audit"]) | set(dc["live"]))
    d = r["deliveries"]
    bad_deliveries = len(d["lost"]) + len(d["doubled"])
    rows = [
        (
            "every page p95 (slowest route, client side)",
            f"{_ms(worst)} ms ({worst_route}); server side {_ms(server_worst)} ms ({server_worst_route})",
            f"< {PAGE_P95_MS:.0f} ms",
            worst < PAGE_P95_MS,
        ),
        (
            "claim-next p95",
            f"{_ms(claim)} ms client, {_ms(claim_server)} ms server",
            f"< {CLAIM_NEXT_P95_MS:.0f} ms",
            claim < CLAIM_NEXT_P95_MS,
        ),
        (
            "change to queue p95",
            f"{c['p95']:.1f} s (p50 {c['p50']:.1f} s; {c['visible']} of {c['made']} changes seen)",
            f"< {CHANGE_TO_QUEUE_P95_S:.0f} s",
            c["p95"] < CHANGE_TO_QUEUE_P95_S and c["visible"] == c["made"],
        ),
        (
            "double claims",
            f"{len(doubled)} (audit replay of {dc['audit_claim_events']:,} claim events; {dc['live_checks']:,} live checks)",
            "0",
            not doubled,
        ),
        (
            "lost or doubled deliveries",
            f"{bad_deliveries} ({d['accepted']:,} accepted entries, {d['records']:,} ViSOR records)",
            "0",
            bad_deliveries == 0 and d["accepted"] == d["records"],
        ),
        (
            "`visor-bridge audit verify` afterwards",
            f"ok={r['audit_verify'].get('ok')} ({r['audit_verify'].get('events', 0):,} events)",
            "ok",
            r["audit_verify"].get("ok") is True,
        ),
    ]
    lines = ["| measure | result | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {t} | {_verdict(ok)} |" for a, b, t, ok in rows]
    return lines, all(ok for *_, ok in rows)


def _route_table(r: dict[str, Any]) -> list[str]:
    lines = [
        "| route | requests | client p50 | p95 | p99 | server p50 | p95 | p99 | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for route, v in sorted(_pages(r).items(), key=lambda kv: -kv[1]["p95"]):
        s = r["server"].get(route, {})
        statuses = ", ".join(f"{k}: {n}" for k, n in v["statuses"].items())
        lines.append(
            f"| `{route}` | {v['n']:,} | {_ms(v['p50'])} | {_ms(v['p95'])} | {_ms(v['p99'])} "
            f"| {_ms(s.get('p50', math.nan))} | {_ms(s.get('p95', math.nan))} | {_ms(s.get('p99', math.nan))} | {statuses} |"
        )
    return lines


def _resources(r: dict[str, Any]) -> list[str]:
    lines = [
        "| process | CPU s | share of one CPU | peak RSS | RSS at end |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, u in r["resources"].items():
        lines.append(
            f"| {name} | {u['cpu_seconds']:,.1f} | {100 * u['cpu_share']:.1f}% | {u['rss_peak_mb']:,.0f} MB | {u['rss_last_mb']:,.0f} MB |"
        )
    return lines


def _where(r: dict[str, Any]) -> str:
    server = {k: v for k, v in r["server"].items() if k in _pages(r)}
    total = sum(v["seconds"] for v in server.values()) or math.nan
    top = sorted(server.items(), key=lambda kv: -kv[1]["seconds"])[:4]
    shares = "; ".join(
        f"`{k}` {100 * v['seconds'] / total:.0f}% ({v['seconds']:,.1f} s over {v['n']:,.0f} requests)"
        for k, v in top
    )
    web_cpu = sum(u["cpu_seconds"] for n, u in r["resources"].items() if n.startswith("web-"))
    sched_cpu = sum(
        u["cpu_seconds"] for n, u in r["resources"].items() if n.startswith("scheduler-")
    )
    requests = sum(v["n"] for v in _pages(r).values())
    per_request = 1000 * web_cpu / requests if requests else math.nan
    return (
        f"The web instances' CPU time per request was {per_request:.0f} ms on average (their CPU seconds "
        f"over the run divided by the {requests:,} requests, sign-ins' password hashing included), "
        "so a request's time beyond that was spent waiting: for a CPU, for PostgreSQL, for a lock. "
        f"Server time by route (both instances, from `bridge_http_request_duration_seconds`): {shares}. "
        f"The web instances used {web_cpu:,.0f} CPU s between them and the schedulers {sched_cpu:,.0f} CPU s "
        f"over {r['worked_seconds']:,.0f} s of work; the 1-minute load average was {r['load'][0]:.1f} when the work began "
        f"and {r['load'][1]:.1f} at the end, on {r['machine']['cpus']} CPUs."
    )


def report(r: dict[str, Any]) -> tuple[str, bool]:
    m = r["machine"]
    plan = r["plan"]
    work = {
        k: sum(p[k] for p in r["proxies"].values())
        for k in ("tasks_claimed", "approved", "edits", "returned", "released", "nothing_to_claim")
    }
    targets, ok = _targets(r)
    c, d = r["changes"], r["deliveries"]
    full = plan["cases"] >= 20_000 and r["minutes"] >= 10 and plan["proxies"] >= 20
    label = (
        ""
        if full
        else "**A shorter run than the benchmark's default (10 minutes, 20 proxies, 20,000 cases): read its numbers as such.** "
    )
    instances = r["client"]["_instances"]
    sync = r["first_sync"]
    lines = [
        f"{label}Measured {r['date']} on {m['cpus']} CPUs ({m['model']}), {m['memory_gb']} GB, {m['system']}, CPython {m['python']}, "
        f"PostgreSQL {r['postgres']} (local, loopback); code at {r['code']}. The 1-minute load average was "
        f"{r['load'][0]:.1f} when the work began (the first sync's set-up had just finished; the benchmark's own "
        f"processes count in it) and {r['load'][1]:.1f} at the end, on {m['cpus']} CPUs; above about 1 at the end, "
        "other work shared the machine and the times are upper bounds of what this code needs.",
        "",
        f"Set-up: {plan['cases']:,} generated cases (seed {plan['seed']}); first sync (full reconciliation) "
        f"{sync.get('cases_fetched', 0):,} cases, {sync.get('entries_created', 0):,} entries. Then {r['worked_seconds']:,.0f} s of work: "
        f"{plan['proxies']} proxies (think time {r['think'][0]:g} to {r['think'][1]:g} s a page, seeded), requests split "
        f"{' / '.join(f'{n:,}' for n in instances.values())} over the {len(instances)} web instances; two schedulers "
        f"(sync every {plan['sync_interval']} s, submit every {plan['submit_interval']} s, visor-http with "
        f"{100 * plan['visor_fault_rate']:.0f}% of record posts answered 503); one nDelius change a second.",
        "",
        *targets,
        "",
        "Page times per route, slowest p95 first. Client side: the proxy's httpx request to its last byte, over "
        "loopback; server side: the instances' `bridge_http_request_duration_seconds` between the start and the "
        "end of the work (both instances together; quantiles interpolated within the histogram's buckets, so "
        "they are estimates). All times in ms.",
        "",
        *_route_table(r),
        "",
        f"Work done: {work['tasks_claimed']:,} tasks claimed, {work['approved']:,} approved (every section the proxy "
        f"held), {work['edits']:,} answers saved through question pages, {work['returned']:,} sections with a blocking "
        f"issue returned to the offender manager, {work['released']:,} cases given back, {work['nothing_to_claim']:,} "
        f"claim-next with nothing to claim. Requests other than 2xx/3xx and the expected refusals: "
        f"{len(r['unexpected'])}{' (' + '; '.join(sorted(set(r['unexpected']))[:5]) + ')' if r['unexpected'] else ''}.",
        "",
        f"Change to queue: {c['made']:,} changes through `PUT /__admin/cases/{{crn}}` (a new main-address postcode "
        f"or one more alias); the time from the simulator's event time to a new entry for that case in the "
        f"database (polled every 0.5 s): p50 {c['p50']:.1f} s, p95 {c['p95']:.1f} s, max {c['max']:.1f} s; "
        f"{len(c['not_visible'])} not seen. {r['sync_runs']} sync runs in all.",
        "",
        f"Deliveries: {d['accepted']:,} entries accepted, {d['records']:,} records in the ViSOR simulator, "
        f"{len(d['lost'])} lost, {len(d['doubled'])} doubled; left after {r['drain_seconds']:.0f} s of draining: "
        f"{d['waiting'] or 'none'}. Entries by state at the end: "
        f"{', '.join(f'{k} {v:,}' for k, v in sorted(r['entries'].items()))}.",
        "",
        "CPU and memory of each process over the run (psutil; a process's children counted with it, so a "
        "scheduler's sync reading process is in its row; PostgreSQL's server is shared and not measured):",
        "",
        *_resources(r),
        "",
        f"**Where the time goes.** {_where(r)}",
    ]
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--proxies", type=int, default=20)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--think", type=float, nargs=2, default=(5.0, 20.0), metavar=("MIN", "MAX"))
    parser.add_argument("--sync-interval", type=int, default=30)
    parser.add_argument("--submit-interval", type=int, default=20)
    parser.add_argument("--report", type=Path, default=DOC)
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument("--from-json", type=Path, help="write the report from a saved run")
    args = parser.parse_args(argv)
    if args.from_json:
        r = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        from tests.bench.system_run import run
        from tests.bench.system_topology import Plan

        plan = Plan(
            cases=args.cases,
            proxies=args.proxies,
            seed=args.seed,
            sync_interval=args.sync_interval,
            submit_interval=args.submit_interval,
        )
        code = _code_version()  # what was started, whatever is committed meanwhile
        with tempfile.TemporaryDirectory(prefix="bench-system-") as folder:
            r = run(plan, minutes=args.minutes, think=tuple(args.think), work=Path(folder))
        r.update(
            date=time.strftime("%Y-%m-%d"),
            machine=_machine(),
            postgres=_postgres_version(),
            code=code,
        )
        if args.json:
            args.json.write_text(json.dumps(r, indent=1, default=str), encoding="utf-8")
    body, ok = report(r)
    print(body)  # noqa: T201
    from tests.bench.report import write_section

    write_section(args.report, "system", body)
    _log(f"wrote the whole-system section of {args.report}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
