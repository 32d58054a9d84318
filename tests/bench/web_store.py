"""A realistic store of N entries for the web benchmark, built in seconds by bulk Core INSERTs.

The record content is real: one full sync of the fixture cases (the nDelius simulator in a
thread, the packaged mapping, a scratch SQLite file) gives each in-scope case's entries with
their XML, diff and issues, and the audit events the sync wrote for them. The store then holds
copies of those cases under generated CRNs, about four entries each, with:

- case states: in scope, managed by one of a few hundred offender managers; 2% of cases exclude
  the benchmark's proxy, 1.5% exclude someone else, 1% are restricted to others, 0.5% restricted
  to a list that includes the proxy; the proxy is also the offender manager of 0.1% of cases;
- entries in every state (45% pending, 5% claimed, 3% approved, 1% failed: 54% still waiting;
  the rest submitted, entered, returned or superseded), due dates from three months ago to a
  week ahead (so "overdue", "today" and "week" all select something), 40 owning forces, the
  template's kinds, version 2 for the 10% a proxy edited;
- each entry's version rows, baselines for what ViSOR holds, and its history in the audit log:
  the sync's events for it, then claimed / viewed / approved / entered / rejected as its state
  implies, appended to one valid hash chain.
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import GENESIS, Audit
from bridge.audit import _row as audit_row
from bridge.core.audit_chain import DEV_AUDIT_KEY, Keyring
from bridge.store.db import refresh_statistics
from bridge.store.models import AuditEvent, Baseline, CaseState, Entry, EntryVersion

__all__ = ["PROXY", "StoreShape", "Template", "build_store", "sync_template"]

#: The benchmark signs in as this fixture proxy (also an offender manager, as in fixtures/).
PROXY = "N07P004"
_OTHER_PROXIES = ("N07P005", "N07P011", "N07P012", "N02P013")
_MANAGERS = tuple(f"N{area:02d}A{n:03d}" for area in (2, 3, 5, 7, 9, 12) for n in range(100, 150))
_FORCES = (
    "METROPOLITAN",
    "NORTHUMBRIA",
    "CITY OF LONDON",
    "THAMES VALLEY",
    "KENT",
    "ESSEX",
    "SUSSEX",
    "SURREY",
    "HAMPSHIRE",
    "DORSET",
    "DEVON CORNWALL",
    "AVON SOMERSET",
    "GLOUCESTERSHIRE",
    "WILTSHIRE",
    "WEST MIDLANDS",
    "WEST MERCIA",
    "WARWICKSHIRE",
    "STAFFORDSHIRE",
    "NOTTINGHAMSHIRE",
    "DERBYSHIRE",
    "LEICESTERSHIRE",
    "LINCOLNSHIRE",
    "NORTHAMPTONSHIRE",
    "CAMBRIDGESHIRE",
    "NORFOLK",
    "SUFFOLK",
    "BEDFORDSHIRE",
    "HERTFORDSHIRE",
    "WEST YORKSHIRE",
    "SOUTH YORKSHIRE",
    "NORTH YORKSHIRE",
    "HUMBERSIDE",
    "CLEVELAND",
    "DURHAM",
    "CUMBRIA",
    "LANCASHIRE",
    "MERSEYSIDE",
    "CHESHIRE",
    "GTR MANCHESTER",
    "SOUTH WALES",
)
_STATES = (
    ("pending", 45),
    ("claimed", 5),
    ("approved", 3),
    ("failed", 1),
    ("submitted", 2),
    ("accepted", 30),
    ("rejected", 5),
    ("superseded", 9),
)
_BATCH = 5_000


@dataclass(frozen=True)
class TemplateEntry:
    section: str
    item_key: str
    kind: str
    xml: str | None
    content_hash: str
    issues: list[dict[str, Any]]
    diff: list[dict[str, Any]]
    mapping_version: str
    owning_force: str | None
    audit: list[tuple[str, str, str, dict[str, Any]]]  # category, action, actor, detail


@dataclass(frozen=True)
class Template:
    cases: list[list[TemplateEntry]]  # the entries of each in-scope fixture case

    @property
    def entries(self) -> int:
        return sum(len(c) for c in self.cases)


@dataclass
class StoreShape:
    """What was built (for the report)."""

    entries: int = 0
    crns: int = 0
    audit_events: int = 0
    waiting: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    hidden_crns: int = 0
    own_crns: int = 0
    seconds: float = 0.0


def sync_template(fixtures: Path) -> Template:
    """One full sync of the fixture cases into a scratch SQLite file; their entries as templates."""
    from bridge.clock import FixedClock
    from bridge.sim import ndelius as ndelius_sim
    from bridge.sim.server import serve_in_thread
    from bridge.store.db import make_engine
    from bridge.store.migrate import upgrade
    from tests.builders import SIM_CLIENT, seeded_wiring

    # A fixed clock (today): the sync then reads on threads in this process, like the tests.
    clock = FixedClock(datetime.now(UTC))
    app = ndelius_sim.create_app(
        cases_dir=fixtures / "ndelius",
        client_id=SIM_CLIENT[0],
        client_secret=SIM_CLIENT[1],
        clock=clock,
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-web-template-") as folder,
        serve_in_thread(app) as url,
    ):
        db_url = f"sqlite:///{folder}/template.db"
        engine = make_engine(db_url)
        upgrade(engine)
        engine.dispose()
        wiring = seeded_wiring(db_url, url, clock, Path(folder))
        with wiring.ndelius() as source:
            wiring.sync_service(source).run(full=True)
        by_crn: dict[str, list[TemplateEntry]] = defaultdict(list)
        with Session(wiring.engine) as s:
            events: dict[int, list[tuple[str, str, str, dict[str, Any]]]] = defaultdict(list)
            for ev in s.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
                if ev.entry_id is not None:
                    events[ev.entry_id].append((ev.category, ev.action, ev.actor, ev.detail))
            for e in s.exec(select(Entry).order_by(col(Entry.id))):
                assert e.id is not None
                by_crn[e.crn].append(
                    TemplateEntry(
                        e.section,
                        e.item_key,
                        e.kind,
                        e.xml,
                        e.content_hash,
                        e.issues,
                        e.diff,
                        e.mapping_version,
                        e.owning_force,
                        events[e.id],
                    )
                )
        wiring.close()
    if not by_crn:
        raise SystemExit("the fixture sync queued nothing: no template entries")
    return Template([by_crn[crn] for crn in sorted(by_crn)])


def _crn(i: int) -> str:
    return f"{'ABCDEFGHJKLMNPRSTUVWXYZ'[i % 23]}{300000 + i // 23:06d}"


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


#: The key an engine with none bound signs with (the bench's stores are development ones).
_KEYRING = Keyring.of([DEV_AUDIT_KEY])


class _Chain:
    """Audit rows with a valid hash chain, flushed in batches."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        head = conn.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)
        ).first()
        self.prev = head[1] if head else GENESIS  # after the staff import's events
        self.last_id = head[0] if head else 0
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, at: datetime, event: Audit) -> None:
        self.count += 1
        row = audit_row(_KEYRING, self.prev, at, event)  # the writer's own chaining
        self.rows.append({"id": self.last_id + self.count, **row})
        self.prev = row["hash"]
        if len(self.rows) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.conn.execute(insert(AuditEvent), self.rows)
            self.rows = []


def build_store(engine: Engine, template: Template, *, entries: int, seed: int) -> StoreShape:
    """Fill a migrated, staffed store with `entries` entries (see the module docstring)."""
    import time

    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    shape = StoreShape(by_state=dict.fromkeys((s for s, _ in _STATES), 0))
    # Events are appended in time order per entry, but entries are written one after another:
    # the log's ids follow the build, its times follow each entry's life (as after a migration).
    with engine.begin() as conn:
        chain = _Chain(conn)
        cases: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        baselines: list[dict[str, Any]] = []
        entry_id = 0
        i = 0
        while entry_id < entries:
            crn = _crn(i)
            i += 1
            whole = rng.choice(template.cases)
            # A first sync queues every section; later changes queue a few: about 4 a case.
            case = [
                whole[k]
                for k in sorted(
                    rng.sample(
                        range(len(whole)),
                        rng.randint(1, 7) if len(whole) >= 7 else rng.randint(1, len(whole)),
                    )
                )
            ]
            manager = PROXY if rng.random() < 0.001 else rng.choice(_MANAGERS)
            roll = rng.random()
            excluded: list[str] = []
            restricted: list[str] = []
            if roll < 0.02:
                excluded = [PROXY, rng.choice(_MANAGERS)]
            elif roll < 0.035:
                excluded = [rng.choice(_OTHER_PROXIES)]
            elif roll < 0.045:
                restricted = [manager, rng.choice(_OTHER_PROXIES[:2])]
            elif roll < 0.05:
                restricted = [manager, PROXY, rng.choice(_OTHER_PROXIES[:2])]
            shape.hidden_crns += bool(PROXY in excluded or (restricted and PROXY not in restricted))
            shape.own_crns += manager == PROXY
            force = rng.choice(_FORCES)
            read_at = now - timedelta(days=rng.uniform(0, 95))
            cases.append(
                {
                    "crn": crn,
                    "snapshot_hash": f"{rng.getrandbits(256):064x}",
                    "in_scope": True,
                    "scope_reason": "active MAPPA registration; manager needs a proxy",
                    "on_behalf_of": manager,
                    "excluded_from": excluded,
                    "restricted_to": restricted,
                    "mapping_version": case[0].mapping_version,
                    "last_read_at": read_at,
                }
            )
            for t in case:
                if entry_id >= entries:
                    break
                entry_id += 1
                status = _weighted(rng, _STATES)
                shape.by_state[status] += 1
                created = read_at - timedelta(days=rng.uniform(0, 5), seconds=rng.randrange(3600))
                if status in ("pending", "claimed", "approved", "failed"):
                    created = now - timedelta(days=rng.uniform(0, 21), seconds=rng.randrange(86400))
                due = (created + timedelta(days=rng.choice((3, 4, 5)))).date()
                updated = min(now, created + timedelta(hours=rng.uniform(1, 72)))
                version = 2 if rng.random() < 0.1 else 1
                proxy = rng.choice((*_OTHER_PROXIES, PROXY))
                claimed = status == "claimed"
                entered: date | None = None
                if status == "accepted":
                    entered = min(today, due + timedelta(days=rng.randrange(-2, 4)))
                rows.append(
                    {
                        "id": entry_id,
                        "crn": crn,
                        "section": t.section,
                        "item_key": t.item_key,
                        "kind": "nominal-update"
                        if t.kind == "nominal-create" and rng.random() < 0.5
                        else t.kind,
                        "status": status,
                        "version": version,
                        "xml": t.xml,
                        "content_hash": t.content_hash,
                        "issues": t.issues,
                        "diff": t.diff,
                        "on_behalf_of": manager,
                        "mapping_version": t.mapping_version,
                        "source_occurred_at": created - timedelta(minutes=rng.randrange(5, 600)),
                        "due_date": due,
                        "created_at": created,
                        "updated_at": updated,
                        "claimed_by": proxy if claimed else None,
                        "claimed_at": now - timedelta(minutes=rng.randrange(1, 25))
                        if claimed
                        else None,
                        "reason": "The postcode does not match the address; check with nDelius."
                        if status == "rejected"
                        else ("ViSOR refused the record" if status == "failed" else None),
                        "visor_reference": f"VR/{rng.randrange(10**8):08d}"
                        if status == "accepted"
                        else None,
                        "entered_at": entered,
                        "superseded_by": None,
                        "owning_force": force if t.owning_force is not None else None,
                    }
                )
                for v in range(1, version + 1):
                    versions.append(
                        {
                            "entry_id": entry_id,
                            "version": v,
                            "xml": t.xml,
                            "created_at": created if v == 1 else updated,
                            "created_by": "system:sync" if v == 1 else proxy,
                        }
                    )
                if status in ("approved", "submitted", "accepted"):
                    baselines.append(
                        {
                            "crn": crn,
                            "section": t.section,
                            "item_key": t.item_key,
                            "content_hash": t.content_hash,
                            "section_xml": t.xml,
                            "entry_id": entry_id,
                            "updated_at": updated,
                        }
                    )
                at = created
                for category, action, actor, detail in t.audit:
                    chain.add(at, Audit(category, action, actor, crn, entry_id, detail))  # type: ignore[arg-type]
                for action, category, extra in _life(status, version, rng):
                    at = min(now, at + timedelta(minutes=rng.randrange(5, 600)))
                    who = "system:submit" if action == "entry.submitted" else proxy
                    chain.add(at, Audit(category, action, who, crn, entry_id, extra))  # type: ignore[arg-type]
            if len(rows) >= _BATCH:
                _flush(conn, cases, rows, versions, baselines)
        _flush(conn, cases, rows, versions, baselines)
        chain.flush()
        shape.audit_events = chain.count
        shape.crns = i
        shape.entries = entry_id
        shape.waiting = sum(shape.by_state[s] for s in ("pending", "claimed", "approved", "failed"))
        if engine.dialect.name == "postgresql":
            for table in ("entry", "entryversion", "auditevent"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load: planner statistics.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        # What the end of every sync run does on SQLite (bridge.store.db.refresh_statistics).
        refresh_statistics(engine)
    shape.seconds = time.perf_counter() - started
    return shape


def _life(status: str, version: int, rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    """The audit events after creation that an entry in `status` has been through."""
    events: list[tuple[str, str, dict[str, Any]]] = []
    if status == "pending":
        if rng.random() < 0.2:  # opened, then left
            events.append(("entry.viewed", "consultation", {"version": 1}))
        return events
    if status == "superseded":
        return events
    events.append(("entry.claimed", "disclosure", {}))
    events.append(("entry.viewed", "consultation", {"version": 1}))
    if version == 2:
        events.append(("entry.edited", "alteration", {"version": 2}))
    if status == "claimed":
        return events
    if status == "rejected":
        events.append(("entry.rejected", "alteration", {}))
        return events
    events.append(("entry.approved", "alteration", {"version": version}))
    if status in ("submitted", "failed"):
        events.append(("entry.submitted", "disclosure", {}))
    if status == "accepted":
        events.append(("entry.entered", "disclosure", {"reference": "VR/00000000"}))
    return events


def _flush(
    conn: Any,
    cases: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    versions: list[dict[str, Any]],
    baselines: list[dict[str, Any]],
) -> None:
    for model, batch in (
        (CaseState, cases),
        (Entry, rows),
        (EntryVersion, versions),
        (Baseline, baselines),
    ):
        if batch:
            conn.execute(insert(model), batch)
            batch.clear()
