"""The append-only, keyed, chained audit writer (DPA 2018 Part 3, s.62).

The events are built by the typed constructors of `bridge.core.audit_events`, the one
catalogue of actions and their s.62 categories. Events hold who, when, which case and entry,
and ids — never record content. The writer is called inside the same transaction as the
change it records, so an action and its audit line are committed together or not at all.

Each row's `hash` is an HMAC-SHA-256 (core.audit_chain) over its columns and the previous
row's value, with the key bound to the engine by the wiring (`use_keyring`); an engine with
no key bound (tests, tools) signs with the development key.
"""

from __future__ import annotations

import hmac
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.core.audit_chain import (
    DEV_AUDIT_KEY,
    GENESIS,
    AuditKey,
    Keyring,
    keyed_value,
    legacy_value,
)
from bridge.core.audit_events import AuditEvent, Category, access_refused
from bridge.counters import count_audit
from bridge.errors import ConfigError
from bridge.store.db import session_scope
from bridge.store.models import AuditChainMark, Staff
from bridge.store.models import AuditEvent as AuditRow
from bridge.store.workfacts import Observed, observe

__all__ = [
    "GENESIS",
    "Audit",
    "AuditEvent",
    "AuditKeyUnknown",
    "Category",
    "ChainReport",
    "keyring_of",
    "record",
    "known_teams",
    "note_entry_facts",
    "record_many",
    "record_refusal",
    "use_keyring",
    "verify_chain",
    "write_held",
    "walk_chain",
]

_PG_AUDIT_LOCK = 0x61756474  # serialises chain appends across PostgreSQL sessions
_INSERT_MANY = insert(AuditRow)

#: The event to record; built by the typed constructors of `bridge.core.audit_events` (the
#: catalogue of actions). `Audit` is its old name, kept for the tests and the bench.
Audit = AuditEvent


class AuditKeyUnknown(ConfigError):
    """An event was signed with a key the bridge was not given (missing or wrong audit key)."""


_DEV_KEYRING = Keyring.of([DEV_AUDIT_KEY])
_KEYRINGS: weakref.WeakKeyDictionary[Engine, Keyring] = weakref.WeakKeyDictionary()


def use_keyring(engine: Engine, keyring: Keyring) -> None:
    """Sign and verify the events written through `engine` with `keyring` (the wiring's)."""
    _KEYRINGS[engine] = keyring


def keyring_of(session: Session) -> Keyring:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _KEYRINGS.get(engine, _DEV_KEYRING)


#: The chain's lock and then its head, sent together (PostgreSQL): one round trip. Each statement
#: of the message reads with a snapshot of its own, taken once the one before has finished, so
#: the head is read after the lock is held and is the last committed append.
_LOCK_THEN_HEAD = (
    f"SELECT pg_advisory_xact_lock({_PG_AUDIT_LOCK:d}); "  # noqa: S608 - an int constant
    f"SELECT hash FROM {AuditRow.__tablename__} ORDER BY id DESC LIMIT 1"
)


def _locked_head(session: Session) -> str | None:
    """Take the chain's lock for the transaction and read the last hash (PostgreSQL)."""
    cursor = session.connection().connection.cursor()
    try:
        # Two statements and no parameters: the simple query protocol, never prepared.
        cursor.execute(_LOCK_THEN_HEAD, prepare=False)  # type: ignore[call-arg]
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else str(row[0])


def _chain_head(session: Session) -> str:
    """The hash to chain from, read once per transaction (appends then follow in memory).

    On PostgreSQL the first append of a transaction takes a transaction-level advisory lock,
    so concurrent writers append one transaction at a time and the chain never forks.
    """
    transaction = session.get_transaction()
    cached = session.info.get("audit_head")
    if cached is not None and cached[0] is transaction:
        return str(cached[1])
    if session.get_bind().dialect.name == "postgresql":
        last = _locked_head(session)
    else:
        last = session.exec(
            select(AuditRow.hash).order_by(col(AuditRow.id).desc()).limit(1)
        ).first()
    if last is not None:
        return last
    # An empty log: the chain starts again after an archive, or from the beginning.
    mark = session.exec(
        select(AuditChainMark).order_by(col(AuditChainMark.id).desc()).limit(1)
    ).first()
    if mark is None:
        return GENESIS
    if session.get_bind().dialect.name == "sqlite":
        # SQLite numbers a row of an empty table 1 again: go on after the archived ids.
        session.info["audit_next_id"] = (transaction, mark.after_event_id + 1)
    return mark.head


def _number(session: Session, rows: list[dict[str, Any]]) -> None:
    """Give `rows` explicit ids when the log was empty after an archive (SQLite)."""
    pending = session.info.pop("audit_next_id", None)
    if pending is not None and pending[0] is session.get_transaction():
        for offset, row in enumerate(rows):
            row["id"] = pending[1] + offset


def _row(keyring: Keyring, prev: str, at: datetime, event: AuditEvent) -> dict[str, Any]:
    """The audit row for `event` chained after `prev`."""
    key = keyring.current
    value = keyed_value(
        key,
        prev,
        at,
        event.category,
        event.action,
        event.actor,
        event.crn,
        event.entry_id,
        event.detail,
    )
    return {
        "at": at,
        "actor": event.actor,
        "category": event.category,
        "action": event.action,
        "crn": event.crn,
        "entry_id": event.entry_id,
        "detail": event.detail,
        "prev_hash": prev,
        "hash": value,
        "key_id": key.id,
    }


#: The actions a session wrote, counted (bridge.counters) once its transaction commits.
_COUNTED = "audit_actions"


@sa_event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    count_audit(session.info.pop(_COUNTED, []))


@sa_event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_COUNTED, None)


def record(session: Session, event: AuditEvent, *, at: datetime) -> None:
    """Append `event` to the log in the caller's transaction.

    The event is held on the session and written when the transaction commits, with the
    transaction's other events: one INSERT for all of them, and the chain's lock (PostgreSQL)
    taken only from then until the commit, so a long transaction (a sync page) does not keep
    other people's actions waiting for the chain. A rollback drops the held events with the
    change they recorded. Read the log after the commit, not inside the transaction.
    """
    # Begun here, so that a rollback before any SQL still ends it (and drops the event).
    _hold(session, _PENDING, session.get_transaction() or session.begin()).append((event, at))


#: (transaction, events) recorded in a session's transaction, written at its commit.
_PENDING = "audit_pending"


def _hold(session: Session, key: str, transaction: object) -> list[Any]:
    """The list kept under `key` in the session's info for `transaction` (a new one when the
    one kept there belongs to another transaction)."""
    held = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = session.info[key] = (transaction, [])
    items: list[Any] = held[1]
    return items


def _take_held(session: Session, key: str) -> list[Any]:
    """What `_hold` keeps under `key` for the session's current transaction, taken off it
    (empty when nothing is kept, or only for another transaction)."""
    held = session.info.pop(key, None)
    if held is None or held[0] is not session.get_transaction():
        return []
    return list(held[1])


def _held(session: Session) -> list[tuple[AuditEvent, datetime]]:
    """The events `record` holds for the session's current transaction (taken off it)."""
    return _take_held(session, _PENDING)


@sa_event.listens_for(Session, "before_commit")
def write_held(session: Session) -> None:
    """Write the events `record` holds for the transaction now (at its commit, or earlier
    for a reader of the log in the same transaction; the chain's lock is then held from here)."""
    pending = _held(session)
    if pending:
        record_many(session, pending)


@sa_event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction ended without its commit: nothing happened
        session.info.pop(_PENDING, None)


def record_many(session: Session, events: Sequence[tuple[AuditEvent, datetime]]) -> None:
    """Append several events, in order, in the caller's transaction: one statement for all.

    The chain is worked out in memory from the transaction's head, one event after another;
    the sync writes a page's events this way, and `record`'s held events are written through
    it at the commit. Any events `record` holds are written first, to keep the order.
    """
    held = _held(session)
    if held:
        events = [*held, *events]
    if not events:
        return
    prev = _chain_head(session)
    keyring = keyring_of(session)
    rows = []
    for event, at in events:
        rows.append(_row(keyring, prev, at, event))
        prev = rows[-1]["hash"]
    _number(session, rows)
    # Inserted in list order, so ids follow the chain (verify_chain walks it by id).
    session.connection().execute(_INSERT_MANY, rows)
    session.info["audit_head"] = (session.get_transaction(), prev)
    session.info.setdefault(_COUNTED, []).extend(event.action for event, _ in events)
    observe_work(session, events)


#: Staff code → team, for people the caller read outside the session (bridge.services.tasks).
_TEAMS = "staff_teams"


def known_teams(session: Session) -> dict[str, str]:
    """The teams of staff read outside this session, by code, for the work facts of its
    events (a caller adds the ones it has, so that they are not looked up again)."""
    teams: dict[str, str] = session.info.setdefault(_TEAMS, {})
    return teams


#: (transaction, rows of `bridge.store.workfacts.entries_and_open`) read in that transaction.
_ENTRY_FACTS = "entry_facts"


def note_entry_facts(session: Session, rows: Sequence[Any]) -> None:
    """Rows of `bridge.store.workfacts.entries_and_open` the caller has read in the session's
    transaction (a claim reads them with the claim, bridge.store.tasks), every row of each
    entry they name: the work facts of the transaction's events use them instead of reading
    them again. Used once: a later write in the same transaction reads what is then true."""
    _hold(session, _ENTRY_FACTS, session.get_transaction()).extend(rows)


def observe_work(session: Session, events: Sequence[tuple[AuditEvent, datetime]]) -> None:
    """The work facts (issue 15) of claims, decisions and entries, in the same transaction as
    their audit events (bridge.store.workfacts); other events mean nothing for the work."""
    # The staff rows the transaction has read already (the actor's, as a rule): their teams,
    # as loaded (an expired attribute is not loaded again here), and any the caller named.
    teams: dict[str, str] = dict(session.info.get(_TEAMS, {}))
    for obj in session.identity_map.values():
        if isinstance(obj, Staff):
            loaded = sa_inspect(obj).dict
            if "code" in loaded and "team" in loaded:
                teams[loaded["code"]] = loaded["team"] or ""
    observe(
        session.connection(),
        [Observed(e.action, e.actor, e.crn, e.entry_id, e.detail, at) for e, at in events],
        teams,
        _take_held(session, _ENTRY_FACTS),
    )


def record_refusal(
    engine: Engine, actor: str, action: str, *, at: datetime, entry_id: int | None = None
) -> None:
    """Record a refused action in a transaction of its own (the refused one rolled back)."""
    with session_scope(engine) as s:
        record(s, access_refused(actor, action=action, entry_id=entry_id), at=at)


#: The columns a walk reads: every one the chain value covers, and the links.
_WALKED = (
    "id",
    "at",
    "category",
    "action",
    "actor",
    "crn",
    "entry_id",
    "detail",
    "prev_hash",
    "hash",
    "key_id",
)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What a walk of the chain found: events checked, the first bad one, where it ended."""

    events: int
    first_bad: int | None
    last_id: int | None  # the last event checked (the head's event), None for an empty log
    head: str
    heads: dict[int, str] = field(default_factory=dict, repr=False)  # only when asked


def walk_chain(
    session: Session, keyring: Keyring, *, keep_heads: frozenset[int] = frozenset()
) -> ChainReport:
    """Walk every event in id order from the chain's start; stop at the first bad one.

    An event is good when its `prev_hash` is the value before it and its own value is the
    HMAC under the key it names (or, for an event from before migration 0003, at or before
    the `keyed` mark, the unkeyed SHA-256). Raises AuditKeyUnknown for a key not in
    `keyring`. `keep_heads`: event ids whose values to return (to check anchors against).
    """
    marks = session.exec(select(AuditChainMark).order_by(col(AuditChainMark.id))).all()
    keyed_from = next((m.after_event_id for m in marks if m.mark == "keyed"), 0)
    archived = [m for m in marks if m.mark == "archived"]
    prev = archived[-1].head if archived else GENESIS
    after = archived[-1].after_event_id if archived else 0
    keys = keyring.by_id
    count, last_id = 0, None
    heads: dict[int, str] = {}
    # Plain rows, streamed (no ORM objects): the log can be millions of events.
    columns = [getattr(AuditRow, name) for name in _WALKED]
    query = sql_select(*columns).where(col(AuditRow.id) > after).order_by(col(AuditRow.id))
    rows = session.connection().execution_options(yield_per=5000).execute(query)
    try:
        for row in rows:
            count += 1
            expected = _expected(row, prev, keys, keyed_from)
            if row.prev_hash != prev or not hmac.compare_digest(row.hash, expected or ""):
                return ChainReport(count, row.id, last_id, prev, heads)
            prev, last_id = row.hash, row.id
            if row.id in keep_heads:
                heads[row.id] = row.hash
    finally:
        rows.close()  # a server-side cursor on PostgreSQL, left early on a bad event
    return ChainReport(count, None, last_id, prev, heads)


def _expected(row: Any, prev: str, keys: Mapping[str, AuditKey], keyed_from: int) -> str | None:
    """The value `row` must have after `prev`; None when no value can be right (an unkeyed
    event after the keyed chain began)."""
    fields = (row.at, row.category, row.action, row.actor, row.crn, row.entry_id, row.detail)
    if row.key_id is None:
        return legacy_value(prev, *fields) if row.id <= keyed_from else None
    key = keys.get(row.key_id)
    if key is None:
        raise AuditKeyUnknown(
            f"Audit event {row.id} was signed with key {row.key_id}, which this bridge was "
            "not given: set BRIDGE_AUDIT_KEY or BRIDGE_AUDIT_KEY_FILE."
        )
    return keyed_value(key, prev, *fields)


def verify_chain(session: Session) -> int | None:
    """The id of the first event whose value does not follow from its predecessor, or None.

    Raises AuditKeyUnknown when an event names a key the session's keyring does not hold.
    """
    return walk_chain(session, keyring_of(session)).first_bad
