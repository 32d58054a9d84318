"""One runner at a time for a named job, across processes: PG advisory lock, or a lock file for SQLite."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, or_, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bridge.store.models import JobLock

__all__ = ["claim_tick", "job_lock"]


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _sqlite_lock_path(engine: Engine, name: str) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("a job lock needs a file-backed SQLite database")
    return Path(database).resolve().with_name(f"{Path(database).name}.{name}.lock")


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True if this process now holds the lock for `name`, False if another does.

    PostgreSQL: a session-level advisory lock on a dedicated connection (released on exit,
    or by the server if the process dies). SQLite: an `flock` on a file beside the
    database (released by the kernel if the process dies).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(name)}).scalar()
            )
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
                    conn.commit()
        return
    path = _sqlite_lock_path(engine, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def claim_tick(
    engine: Engine, name: str, *, now: datetime, min_gap: timedelta, holder: str
) -> bool:
    """Claim this tick of a scheduled job for this instance; False if another instance has it.

    Every instance runs its own scheduler, so each tick fires once per instance. The first
    to move `last_run` forward by at least `min_gap` wins; the others see a recent
    `last_run` and skip. (The job lock alone would let a fast job run twice in one tick.)
    """
    cutoff = now - min_gap
    with engine.begin() as conn:
        moved = conn.execute(
            update(JobLock)
            .where(
                col(JobLock.name) == name,
                or_(col(JobLock.last_run).is_(None), col(JobLock.last_run) <= cutoff),
            )
            .values(last_run=now, holder=holder)
        ).rowcount
    if moved:
        return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(JobLock).values(name=name, last_run=now, holder=holder))
    except IntegrityError:
        return False  # the row exists and is recent: another instance ran this tick
    return True
