"""The whole system for a few seconds: the short version of `tests/bench/bench_system.py`.

PostgreSQL, the two simulators (ViSOR answering 5% of record posts with 503), two
`visor-bridge serve` and two `visor-bridge scheduler` processes; 200 cases, one nDelius change
a second, three proxies working tasks over HTTP across both web instances for 10 s with
almost no think time. Whatever the timing, nothing may be claimed by two proxies at once,
every accepted entry must be in ViSOR exactly once, the audit chain must verify, and every
request must succeed but for the refusals a person meets in normal work.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.bench.system_run import run
from tests.bench.system_topology import Plan

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess, pytest.mark.slow]


def test_two_instances_of_everything_under_load(tmp_path: Path) -> None:
    if not os.environ.get("BRIDGE_TEST_POSTGRES_URL"):
        pytest.skip("PostgreSQL tests need BRIDGE_TEST_POSTGRES_URL (a server URL)")
    plan = Plan(cases=200, proxies=3, sync_interval=3, submit_interval=3, fast=True)

    r = run(plan, minutes=10 / 60, think=(0.0, 0.2), work=tmp_path)

    print({k: r[k] for k in ("setup_seconds", "settle_seconds", "drain_seconds", "verify_seconds")})  # noqa: T201
    client = {k: v for k, v in r["client"].items() if not k.startswith("_")}
    assert r["unexpected"] == []
    assert sum(v["n"] for v in client.values()) >= 30, client
    assert sum(p["approved"] for p in r["proxies"].values()) >= 1, r["proxies"]
    assert set(r["client"]["_instances"]) == {"0", "1"}  # both web instances served pages
    assert r["double_claims"]["audit"] == []
    assert r["double_claims"]["live"] == []
    assert r["double_claims"]["audit_claim_events"] >= 1
    d = r["deliveries"]
    assert d["accepted"] >= 1, d
    assert d["lost"] == [], d
    assert d["doubled"] == [], d
    assert d["records"] == d["accepted"], d
    assert d["waiting"] == {}, d
    assert r["audit_verify"]["ok"] is True, r["audit_verify"]
    assert r["changes"]["made"] >= 5, r["changes"]
    assert r["changes"]["visible"] >= 1, r["changes"]
