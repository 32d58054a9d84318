"""One whole-system run: the topology started, proxies at work, changes flowing, then the checks.

`run(plan, minutes, think, work)` returns a plain dictionary of everything measured; the
benchmark (`tests/bench/bench_system.py`) writes it into docs/BENCHMARKS.md and the smoke test
(`tests/test_system_smoke.py`) asserts on it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.bench.system_checks import (
    Changes,
    Resources,
    Scrape,
    Watcher,
    deliveries,
    double_claims_in_audit,
    histogram_quantile,
    percentile,
    scrape_durations,
)
from tests.bench.system_proxy import ProxyUser
from tests.bench.system_topology import PASSWORD, Plan, running_system

__all__ = ["QUANTILES", "run"]

QUANTILES = (0.5, 0.95, 0.99)


def _log(message: str) -> None:
    print(f"[bench-system {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


def _server_times(scrapes: list[tuple[Scrape, Scrape]]) -> dict[str, dict[str, float]]:
    """Per "METHOD route", over every web instance together and between the two scrapes:
    requests, seconds spent, and p50/p95/p99 (ms, interpolated within the histogram's buckets)."""
    merged: dict[Any, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    spent: dict[Any, float] = defaultdict(float)
    for (b_before, s_before), (b_after, s_after) in scrapes:
        for key, buckets in b_after.items():
            for le, n in buckets.items():
                merged[key][le] += n - b_before.get(key, {}).get(le, 0.0)
        for key, total in s_after.items():
            spent[key] += total - s_before.get(key, 0.0)
    out = {}
    for (method, route), buckets in merged.items():
        total = max(buckets.values(), default=0.0)
        if total <= 0:
            continue
        quantiles = {f"p{int(q * 100)}": 1000 * histogram_quantile(buckets, q) for q in QUANTILES}
        out[f"{method} {route}"] = {"n": total, "seconds": spent[(method, route)], **quantiles}
    return out


def _client_times(proxies: list[ProxyUser]) -> dict[str, dict[str, Any]]:
    by_route: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_instance: dict[int, int] = defaultdict(int)
    for p in proxies:
        for s in p.out.samples:
            by_route[s.route].append(s.seconds * 1000)
            statuses[s.route][s.status] += 1
            per_instance[s.instance] += 1
    out: dict[str, dict[str, Any]] = {
        route: {
            "n": len(ms),
            "p50": percentile(ms, 0.5),
            "p95": percentile(ms, 0.95),
            "p99": percentile(ms, 0.99),
            "max": max(ms),
            "statuses": {str(k): v for k, v in sorted(statuses[route].items())},
        }
        for route, ms in sorted(by_route.items())
    }
    out["_instances"] = {str(k): v for k, v in sorted(per_instance.items())}
    return out


def _drain(engine: Any, seconds: float) -> float:
    """Wait until nothing approved or submitted is left for the sink (or `seconds` pass)."""
    from sqlalchemy import text

    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with engine.connect() as c:
            left = c.execute(
                text("SELECT count(*) FROM entry WHERE status IN ('approved', 'submitted')")
            ).scalar_one()
        if left == 0:
            break
        time.sleep(1.0)
    return time.monotonic() - started


def run(
    plan: Plan,
    *,
    minutes: float,
    think: tuple[float, float],
    work: Path,
    changes_per_second: float = 1.0,
) -> dict[str, Any]:
    from bridge.store.db import make_engine

    result: dict[str, Any] = {"plan": vars(plan), "minutes": minutes, "think": list(think)}
    with running_system(plan, work) as system, ExitStack() as cleanup:
        result["setup_seconds"] = system.setup_seconds
        result["first_sync"] = system.first_sync
        _log(f"system up: {json.dumps(system.setup_seconds)}; first sync {system.first_sync}")
        engine = make_engine(system.database_url)
        cleanup.callback(engine.dispose)  # whatever fails below, no connection is left open
        stop = threading.Event()
        metrics = [p.metrics for p in system.procs if p.name.startswith("web-") and p.metrics]
        # A running service has answered pages before: each instance renders the sign-in page
        # once (templates compiled, first connections made) before anything is timed.
        for base in system.web:
            for _ in range(2):
                httpx.get(f"{base}/login", timeout=60.0).raise_for_status()
        before = [scrape_durations(m) for m in metrics]
        resources = Resources(system.pids(), stop)
        changes = Changes(
            engine,
            system.ndelius,
            system.data,
            seed=plan.seed,
            stop=stop,
            per_second=changes_per_second,
        )
        watcher = Watcher(engine, changes, stop)
        proxies = [
            ProxyUser(code, PASSWORD, system.web, seed=plan.seed + n, think=think, stop=stop)
            for n, code in enumerate(system.proxies)
        ]
        started = time.monotonic()
        for thread in (resources, changes, watcher, *proxies):
            thread.start()
        stop.wait(minutes * 60)
        stop.set()
        for p in proxies:
            p.join(120)
        worked = time.monotonic() - started
        changes.join(30)
        watcher.join(30)
        _log(f"work over after {worked:.0f} s; waiting for the last changes and deliveries")
        # Changes still in flight get up to two sync intervals more to reach the queue.
        deadline = time.monotonic() + 2 * plan.sync_interval + 10
        while changes.waiting() and time.monotonic() < deadline:
            time.sleep(0.5)
            watcher.poll()
        result["settle_seconds"] = time.monotonic() - started - worked
        result["drain_seconds"] = _drain(engine, 4 * plan.submit_interval + 30)
        after = [scrape_durations(m) for m in metrics]
        resources.finish()
        span = time.monotonic() - started
        result["worked_seconds"] = worked
        result["client"] = _client_times(proxies)
        result["server"] = _server_times(list(zip(before, after, strict=True)))
        result["proxies"] = {
            p.code: {k: v for k, v in vars(p.out).items() if k != "samples"} for p in proxies
        }
        result["unexpected"] = [e for p in proxies for e in p.out.errors]
        made = changes.made
        seen = [c.visible_after for c in made if c.visible_after is not None]
        result["changes"] = {
            "made": len(made),
            "visible": len(seen),
            "not_visible": sorted(c.crn for c in made if c.visible_after is None),
            "p50": percentile(seen, 0.5),
            "p95": percentile(seen, 0.95),
            "max": max(seen, default=float("nan")),
            "errors": changes.errors,
        }
        audit_claims, audit_doubled = double_claims_in_audit(engine)
        result["double_claims"] = {
            "audit_claim_events": audit_claims,
            "audit": audit_doubled,
            "live": sorted(watcher.double_claims),
            "live_checks": watcher.checks,
        }
        result["deliveries"] = vars(deliveries(engine, system.visor))
        checked = time.monotonic()
        result["audit_verify"] = system.verify_audit()
        result["verify_seconds"] = time.monotonic() - checked
        with engine.connect() as c:
            from sqlalchemy import text

            result["entries"] = dict(
                c.execute(text("SELECT status, count(*) FROM entry GROUP BY status")).all()
            )
            runs = c.execute(text("SELECT count(*) FROM syncrun")).scalar_one()
            result["sync_runs"] = int(runs)
        engine.dispose()
        result["resources"] = {
            name: {
                "cpu_seconds": u.cpu_end - u.cpu_start,
                "cpu_share": (u.cpu_end - u.cpu_start) / span,
                "rss_peak_mb": u.rss_peak_mb,
                "rss_last_mb": u.rss_last_mb,
            }
            for name, u in resources.usage.items()
        }
        result["load"] = [resources.load_start, resources.load_end]
    return result
