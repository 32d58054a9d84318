"""What the whole-system run measures besides page times, each from outside the product.

- `Changes`: one nDelius change a second (`PUT /__admin/cases/{crn}`: a new main-address
  postcode or one more alias on a case not changed before), keeping the simulator's event time;
- `Watcher`: every half second, which changed cases have a new entry in the database (what a
  proxy's queue shows), and whether any case has claimed entries held by two proxies at once;
- `Resources`: CPU seconds and RSS (peak and last) of every process, with psutil;
- afterwards: double claims from the audit log, deliveries against the ViSOR simulator's
  records, and the server's request times from each instance's /metrics.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.engine import Engine

__all__ = [
    "Changes",
    "Resources",
    "Scrape",
    "Watcher",
    "deliveries",
    "double_claims_in_audit",
    "histogram_quantile",
    "percentile",
    "scrape_durations",
]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0 to 1) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Change:
    crn: str
    occurred_at: datetime
    before_max_id: int
    visible_after: float | None = None  # seconds from the event time to a new entry in the DB


class Changes(threading.Thread):
    """One change a second (see the module's docstring) until `stop` is set."""

    def __init__(
        self,
        engine: Engine,
        ndelius: str,
        data: Path,
        *,
        seed: int,
        stop: threading.Event,
        per_second: float = 1.0,
    ) -> None:
        super().__init__(name="changes", daemon=True)
        self.engine, self.ndelius, self.data, self.stop = engine, ndelius, data, stop
        self.gap = 1.0 / per_second
        # Every generated case is in scope (the staff file gives each manager a proxy).
        crns = sorted(p.stem for p in (data / "cases").glob("*.json"))
        random.Random(seed).shuffle(crns)
        self.todo = crns
        self.made: list[Change] = []
        self.lock = threading.Lock()
        self.errors: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.ndelius, timeout=30.0) as http:
            n = 0
            next_at = time.monotonic()
            while self.todo and not self.stop.wait(max(0.0, next_at - time.monotonic())):
                next_at += self.gap
                crn = self.todo.pop()
                try:
                    self._change(http, crn, n)
                except Exception as exc:
                    self.errors.append(f"{crn}: {type(exc).__name__}: {exc}")
                n += 1

    def _change(self, http: httpx.Client, crn: str, n: int) -> None:
        doc = json.loads((self.data / "cases" / f"{crn}.json").read_bytes())
        offender = doc["offender"]
        addresses = [
            a
            for a in offender.get("contactDetails", {}).get("addresses", [])
            if a.get("status", {}).get("code") == "M"
        ]
        if n % 2 == 0 and addresses and addresses[0].get("postcode"):
            outward = str(addresses[0]["postcode"]).split(" ")[0]
            addresses[0]["postcode"] = f"{outward} 9ZZ"
        else:
            offender.setdefault("offenderAliases", []).append(
                {
                    "id": str(2790000000 + n),
                    "firstName": offender.get("firstName"),
                    "middleNames": [],
                    "surname": f"{offender.get('surname')}-Load",
                    "dateOfBirth": offender.get("dateOfBirth"),
                    "gender": offender.get("gender"),
                }
            )
        with self.engine.connect() as c:
            before = c.execute(
                text("SELECT coalesce(max(id), 0) FROM entry WHERE crn = :crn"), {"crn": crn}
            ).scalar_one()
        r = http.put(f"/__admin/cases/{crn}", content=json.dumps(doc, ensure_ascii=False).encode())
        r.raise_for_status()
        events = r.json()["events"]
        at = datetime.fromisoformat(events[0]["occurredAt"].replace("Z", "+00:00"))
        with self.lock:
            self.made.append(Change(crn, at, int(before)))

    def waiting(self) -> list[Change]:
        with self.lock:
            return [c for c in self.made if c.visible_after is None]


class Watcher(threading.Thread):
    """Change-to-queue times and live double-claim checks, every `every` seconds."""

    def __init__(
        self, engine: Engine, changes: Changes, stop: threading.Event, every: float = 0.5
    ) -> None:
        super().__init__(name="watcher", daemon=True)
        self.engine, self.changes, self.stop, self.every = engine, changes, stop, every
        self.double_claims: set[str] = set()
        self.checks = 0

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.poll()

    def poll(self) -> None:
        waiting = self.changes.waiting()
        with self.engine.connect() as c:
            if waiting:
                rows = c.execute(
                    text("SELECT crn, max(id) FROM entry WHERE crn = ANY(:crns) GROUP BY crn"),
                    {"crns": [w.crn for w in waiting]},
                ).all()
                now = datetime.now(UTC)
                latest = {crn: int(m) for crn, m in rows}
                for w in waiting:
                    if latest.get(w.crn, 0) > w.before_max_id:
                        w.visible_after = (now - w.occurred_at).total_seconds()
            held = c.execute(
                text(
                    "SELECT crn FROM entry WHERE status = 'claimed' GROUP BY crn "
                    "HAVING count(DISTINCT claimed_by) > 1"
                )
            ).scalars()
            self.double_claims.update(held)
            self.checks += 1


@dataclass
class Usage:
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    rss_peak_mb: float = 0.0
    rss_last_mb: float = 0.0


class Resources(threading.Thread):
    """CPU and RSS of each named process (its children included: a sync's reading process)."""

    def __init__(self, pids: dict[str, int], stop: threading.Event, every: float = 2.0) -> None:
        super().__init__(name="resources", daemon=True)
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.usage: dict[str, Usage] = {name: Usage() for name in pids}
        self.stop, self.every = stop, every
        self.load_start = psutil.getloadavg()[0]
        self.load_end = math.nan
        for name in self.procs:
            self.usage[name].cpu_start = self._cpu(name)

    def _tree(self, name: str) -> list[psutil.Process]:
        proc = self.procs[name]
        try:
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    def _cpu(self, name: str) -> float:
        total = 0.0
        for p in self._tree(name):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def sample(self) -> None:
        for name in self.procs:
            rss = 0.0
            for p in self._tree(name):
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss / 2**20
            u = self.usage[name]
            u.rss_last_mb, u.rss_peak_mb = rss, max(u.rss_peak_mb, rss)

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()

    def finish(self) -> None:
        self.sample()
        for name in self.procs:
            self.usage[name].cpu_end = self._cpu(name)
        self.load_end = psutil.getloadavg()[0]


# -- afterwards -------------------------------------------------------------------------------

_HOLD = {"entry.claimed": "actor", "entry.claim_joined": "holder", "entry.reassigned": "to"}
_END = {
    "entry.released",
    "entry.claim_expired",
    "entry.approved",
    "entry.rejected",
    "entry.superseded",
}


def double_claims_in_audit(engine: Engine) -> tuple[int, list[str]]:
    """Replay the audit log's claim events: (claim events seen, CRNs ever held by two at once)."""
    holders: dict[str, dict[int, str]] = defaultdict(dict)
    doubled: set[str] = set()
    seen = 0
    names = list(_HOLD) + list(_END)
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT action, actor, crn, entry_id, detail FROM auditevent WHERE action = ANY(:a) ORDER BY id"
            ),
            {"a": names},
        )
        for action, actor, crn, entry_id, detail in rows:
            if crn is None or entry_id is None:
                continue
            detail = detail if isinstance(detail, dict) else json.loads(detail or "{}")
            held = holders[crn]
            if action in _HOLD:
                seen += 1
                held[entry_id] = (
                    actor if _HOLD[action] == "actor" else str(detail.get(_HOLD[action]))
                )
                if len(set(held.values())) > 1:
                    doubled.add(crn)
            else:
                held.pop(entry_id, None)
    return seen, sorted(doubled)


@dataclass
class Deliveries:
    accepted: int  # entries the bridge holds as accepted (with a ViSOR reference)
    records: int  # records the ViSOR simulator holds
    lost: list[int] = field(default_factory=list)  # accepted entries whose reference ViSOR lacks
    doubled: list[str] = field(default_factory=list)  # ViSOR references no entry (or two) holds
    waiting: dict[str, int] = field(default_factory=dict)  # approved/submitted/failed left


def deliveries(engine: Engine, visor: str) -> Deliveries:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT id, visor_reference FROM entry WHERE status = 'accepted'")
        ).all()
        left = dict(
            c.execute(
                text(
                    "SELECT status, count(*) FROM entry WHERE status IN ('approved', 'submitted', 'failed') GROUP BY status"
                )
            ).all()
        )
    # The injected faults match /records, the listing too: the work is over, so clear them.
    httpx.delete(f"{visor}/__admin/faults", timeout=60.0).raise_for_status()
    listing = httpx.get(f"{visor}/records", timeout=60.0)
    listing.raise_for_status()
    records = listing.json()["records"]
    in_visor = [r["reference"] for r in records]
    by_ref: dict[str, list[int]] = defaultdict(list)
    for entry_id, ref in rows:
        by_ref[str(ref)].append(int(entry_id))
    known = set(in_visor)
    lost = [e for ref, ids in by_ref.items() if ref not in known for e in ids]
    doubled = [ref for ref in in_visor if len(by_ref.get(ref, [])) != 1]
    doubled += [ref for ref, ids in by_ref.items() if len(ids) > 1 and ref in known]
    return Deliveries(
        len(rows),
        len(in_visor),
        sorted(lost),
        sorted(set(doubled)),
        {k: int(v) for k, v in left.items()},
    )


Scrape = tuple[dict[tuple[str, str], dict[float, float]], dict[tuple[str, str], float]]


def scrape_durations(address: str) -> Scrape:
    """bridge_http_request_duration_seconds by (method, route): the cumulative bucket counts,
    and the seconds spent (its _sum), each summed over status classes."""
    from prometheus_client.parser import text_string_to_metric_families

    body = httpx.get(f"http://{address}/metrics", timeout=30.0).text
    buckets: dict[tuple[str, str], dict[float, float]] = defaultdict(lambda: defaultdict(float))
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for family in text_string_to_metric_families(body):
        if family.name != "bridge_http_request_duration_seconds":
            continue
        for s in family.samples:
            key = (s.labels["method"], s.labels["route"])
            if s.name.endswith("_bucket"):
                buckets[key][float(s.labels["le"])] += s.value
            elif s.name.endswith("_sum"):
                sums[key] += s.value
    return buckets, sums


def histogram_quantile(buckets: dict[float, float], q: float) -> float:
    """Prometheus' histogram_quantile: linear within the bucket holding the q-quantile."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return math.nan
    total = buckets[bounds[-1]]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, count
    return lower
