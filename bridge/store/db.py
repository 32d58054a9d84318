"""Engine and sessions: SQLite tuned for one instance (WAL, busy timeout), PostgreSQL for several."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "is_postgres",
    "make_engine",
    "owner_only_sqlite_file",
    "refresh_statistics",
    "session_scope",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: A pooled PostgreSQL connection back in the pool for longer than this is checked with a round
#: trip before it is used again; one in use moments ago is not (a busy instance's connections
#: are never idle this long, so its requests pay no round trip for the check).
IDLE_CHECK_SECONDS = 5.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Erased content must not linger in free pages of the database file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


#: Database files and the folders the bridge makes for them: owner only, in every environment
#: (ARCHITECTURE §7). SQLite makes its -wal and -shm files with the database file's mode.
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def owner_only_sqlite_file(url: str) -> Path | None:
    """Make a SQLite database file (and any missing folders on its path) owner-only before
    SQLite opens it, and take group and other access off an existing one. None for an
    in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)  # whatever the umask
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(file, mode & 0o700)
    return path


def make_engine(
    url: str, *, echo: bool = False, idle_check_seconds: float = IDLE_CHECK_SECONDS
) -> Engine:
    """Build the engine for `url`; nothing is connected until first use. `idle_check_seconds`
    (PostgreSQL): how long a pooled connection may sit unused before it is checked."""
    if url.startswith("sqlite"):
        owner_only_sqlite_file(url)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Take the write lock at BEGIN so two writers never deadlock on lock upgrade.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        return engine
    # Last in, first out: a web instance's few busy connections are reused, warm, and the rest
    # of the pool sits idle (and is checked before use, or closed by the server) instead of
    # every connection being rotated through and each idling long enough to need a check.
    engine = create_engine(url, echo=echo, pool_use_lifo=True)
    _check_when_idle(engine, idle_check_seconds)
    return engine


def _check_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pre-ping, only for connections idle for `idle_seconds` or more: a connection the server
    or the network dropped while it sat in the pool (a restart, a fail-over, an idle timeout)
    is replaced before a request uses it. A connection dropped moments after its last use
    fails that use, and the pool then drops every connection it holds."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # SQLAlchemy's pre-ping, outside a transaction
        except Exception as error:  # any failure: the pool replaces the connection
            raise exc.DisconnectionError(str(error)) from error


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def refresh_statistics(engine: Engine) -> None:
    """Keep SQLite's query planner statistics current (PostgreSQL's autovacuum does this itself).

    Without them SQLite cannot tell that a proxy's hidden cases are few or that the queue's
    partial index is small, and picks plans several times slower. `analysis_limit` bounds the
    work to a sample of each index, so this takes milliseconds even with 100,000 entries.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
