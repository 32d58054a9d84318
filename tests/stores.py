"""Template stores: built once per test session (per xdist worker), copied for each test.

Most tests need a store that is migrated, or migrated, staffed and synced from the fixture
cases. Migrating and syncing are the slow part of a test, and give the same result every
time (a fixed clock, the simulator at its seed), so each kind of store is built once, as a
template, and each test gets a copy:

- SQLite: the template file, its WAL checkpointed into it (`PRAGMA wal_checkpoint(TRUNCATE)`),
  is copied over the test's file.
- PostgreSQL: the test's database is dropped and made again with
  `CREATE DATABASE … TEMPLATE …`; PostgreSQL refuses that while any session is connected to
  the template, so the engine that built it is disposed and lingering backends are ended.

A synced template is keyed by the cases left in the simulator (None: all of them) and whether
the sync was a full reconciliation; the test removes the same cases from its own simulator
(`only_cases`), so the simulator and the store agree as if the test had synced itself.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bridge.clock import FixedClock
from bridge.store.db import make_engine
from bridge.store.migrate import upgrade
from tests.builders import only_cases, seeded_wiring
from tests.loopback import local

__all__ = ["StoreKey", "Templates", "pg_name", "worker_id"]

#: The longest name PostgreSQL keeps (longer ones are truncated, and would collide).
_PG_NAME_MAX = 63


def worker_id() -> str:
    """The xdist worker running this process ("gw0", "gw1", …), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pg_name(base_url: str, suffix: str) -> str:
    """A database name on the test server: the server URL's database, the worker, `suffix`.

    With BRIDGE_TEST_POSTGRES_URL=…/bridge_fast every database a run makes is bridge_fast_*.
    """
    base = make_url(base_url).database or "bridge_test"
    name = f"{base}_{worker_id()}_{suffix}"
    assert len(name) <= _PG_NAME_MAX, name
    return name


@dataclass(frozen=True)
class StoreKey:
    """Which store a template holds."""

    #: The fixture cases left in the simulator for the sync; None: all; () : no sync at all.
    cases: frozenset[str] | None
    full: bool = False

    @property
    def synced(self) -> bool:
        return self.cases is None or bool(self.cases)

    @staticmethod
    def of(cases: Iterable[str] | None, *, full: bool = False) -> StoreKey:
        return StoreKey(None if cases is None else frozenset(cases), full)


Build = Callable[[str, StoreKey], None]


class Templates:
    """The session's templates on one kind of database, built on first use."""

    def __init__(
        self,
        folder: Path,
        sim_url: Callable[[], str],
        now: datetime,
        postgres_url: str | None = None,
    ) -> None:
        """`sim_url()` gives a private nDelius simulator at its seed (only templates use it)."""
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._sim_url = sim_url
        self._now = now
        self._postgres = postgres_url
        self._built: dict[StoreKey, str] = {}  # key -> SQLite path or PostgreSQL database name

    # -- building -----------------------------------------------------------------------

    def _build(self, url: str, key: StoreKey) -> None:
        """Migrate `url`; for a synced key, import the fixture staff and sync, as a test would."""
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        if not key.synced:
            return
        sim = self._sim_url()
        local.post(f"{sim}/__admin/reset").raise_for_status()
        only_cases_or_all(sim, key.cases)
        folder = self._folder / f"staff-{len(self._built)}"
        folder.mkdir(parents=True, exist_ok=True)
        wiring = seeded_wiring(url, sim, FixedClock(self._now), folder)
        try:
            with wiring.ndelius() as source:
                result = wiring.sync_service(source).run(full=key.full)
            assert result is not None, "the template's sync found the sync lock taken"
        finally:
            wiring.close()

    def template(self, key: StoreKey) -> str:
        """The template for `key` (a SQLite path or a PostgreSQL database name)."""
        if key not in self._built:
            n = len(self._built)
            if self._postgres is None:
                path = self._folder / f"template-{n}.db"
                self._build(f"sqlite:///{path}", key)
                _checkpoint(path)
                self._built[key] = str(path)
            else:
                name = pg_name(self._postgres, f"tpl{n}")
                _pg_admin(self._postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                _pg_admin(self._postgres, f'CREATE DATABASE "{name}"')
                self._build(_pg_url(self._postgres, name), key)
                _pg_no_sessions(self._postgres, name)
                self._built[key] = name
        return self._built[key]

    # -- copying ------------------------------------------------------------------------

    def copy_into(self, url: str, key: StoreKey) -> None:
        """Make the store at `url` a copy of the template for `key` (nothing may be connected)."""
        source = self.template(key)
        if self._postgres is None:
            target = make_url(url).database
            assert target, url
            for stale in (Path(target + "-wal"), Path(target + "-shm")):
                stale.unlink(missing_ok=True)
            shutil.copyfile(source, target)
        else:
            name = make_url(url).database
            _pg_admin(self._postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _pg_admin(self._postgres, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')

    def drop_all(self) -> None:
        if self._postgres is not None:
            for name in self._built.values():
                _pg_admin(self._postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._built.clear()


def only_cases_or_all(ndelius_url: str, cases: frozenset[str] | None) -> None:
    if cases is not None:
        only_cases(ndelius_url, set(cases))


# -- SQLite ----------------------------------------------------------------------------------


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file, so the file alone is the whole database."""
    with closing(sqlite3.connect(path)) as conn:
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, f"{path}: the WAL checkpoint was blocked"
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_url(base_url: str, name: str) -> str:
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _pg_admin(base_url: str, sql: str) -> None:
    """One statement on the server URL's own database (outside a transaction)."""
    engine = make_engine(base_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def _pg_no_sessions(base_url: str, name: str) -> None:
    """End any session still on database `name`: CREATE DATABASE … TEMPLATE needs none."""
    engine = make_engine(base_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
    finally:
        engine.dispose()
