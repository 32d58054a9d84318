"""Shared fixtures: real SQLite and PostgreSQL, simulators on loopback sockets, a fixed clock."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bridge.clock import FixedClock, SystemClock
from bridge.config import default_mappings_dir
from bridge.sim import ndelius as ndelius_sim
from bridge.sim import visor as visor_sim
from bridge.sim.server import serve_in_thread
from bridge.store.db import make_engine
from bridge.store.migrate import head_revision
from bridge.wiring import Wiring
from tests.builders import FIXTURE_TODAY, seeded_wiring, wiring_for_test
from tests.loopback import local
from tests.stores import StoreKey, Templates, only_cases_or_all, pg_name

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SIM_CLIENT = ("bridge-test", "bridge-test-secret")
#: CI sets this: a skipped PostgreSQL or browser test is then a failure, never silent.
REQUIRE_ALL = os.environ.get("BRIDGE_TEST_REQUIRE_ALL") == "1"
#: The template of a store that is only migrated (no staff, nothing synced).
MIGRATED = StoreKey(frozenset())


#: `make fuzz` (--hypothesis-profile=fuzz): many more examples, no deadline. The default
#: profile is hypothesis's own; a test's @settings(max_examples=…) wins over either.
hypothesis.settings.register_profile("fuzz", max_examples=2_000, deadline=None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under BRIDGE_TEST_REQUIRE_ALL=1 nothing may skip: a skip becomes a failure."""
    report = yield
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under BRIDGE_TEST_REQUIRE_ALL=1 (CI): {reason}"
    return report


#: The modules that take longest (tens of seconds of real processes), in the order to start them.
LONGEST = ("tests/test_system_smoke.py", "tests/cli/test_sync_resilience.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, each module's tests kept together and in order.

    xdist (`--dist loadscope`) hands modules to its workers in collection order: a long module
    collected last (the system smoke sorts near the end) kept one worker busy for half a minute
    after the others had finished. Then the modules whose point is a real process, then the
    browser's, then the rest.
    """

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in LONGEST:
            return LONGEST.index(path)
        marks = {m.name for m in item.iter_markers()}  # the module's marks included
        return len(LONGEST) + (0 if "subprocess" in marks else 1 if "browser" in marks else 2)

    module_rank: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        module_rank[path] = min(module_rank.get(path, 99), rank(item))
    order = {id(item): n for n, item in enumerate(items)}
    items.sort(key=lambda i: (module_rank[i.nodeid.split("::", 1)[0]], order[id(i)]))


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BRIDGE_* from the developer's shell, and no stray .env, reaches a test."""
    for key in list(os.environ):
        if key.startswith("BRIDGE_") and key not in {
            "BRIDGE_TEST_POSTGRES_URL",
            "BRIDGE_TEST_REQUIRE_ALL",
        }:
            monkeypatch.delenv(key)
    # Production is the default (ARCHITECTURE §7): the tests run in development, as the demo
    # does; a test of the production checks sets it itself.
    monkeypatch.setenv("BRIDGE_ENVIRONMENT", "development")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FIXTURE_TODAY)


# -- databases -------------------------------------------------------------------------
#
# Every store is a copy of a template built once per session (tests/stores.py): migrated, or
# migrated, staffed and synced from the fixture cases on FIXTURE_TODAY.


class StoreTemplates:
    """The session's templates: SQLite always, PostgreSQL when a server is named."""

    def __init__(self, folder: Path) -> None:
        self._stack = ExitStack()
        self._sim: str | None = None
        self.sqlite = Templates(folder / "sqlite", self._sim_url, FIXTURE_TODAY)
        base = os.environ.get("BRIDGE_TEST_POSTGRES_URL")
        self.postgres = (
            Templates(folder / "postgres", self._sim_url, FIXTURE_TODAY, base) if base else None
        )

    def _sim_url(self) -> str:
        """A private nDelius simulator for building templates (tests reset theirs at will)."""
        if self._sim is None:
            app = ndelius_sim.create_app(
                cases_dir=FIXTURES / "ndelius",
                client_id=SIM_CLIENT[0],
                client_secret=SIM_CLIENT[1],
                clock=SystemClock(),
            )
            self._sim = self._stack.enter_context(serve_in_thread(app))
        return self._sim

    def for_url(self, url: str) -> Templates:
        if url.startswith("sqlite"):
            return self.sqlite
        assert self.postgres is not None, url
        return self.postgres

    def close(self) -> None:
        for templates in (self.sqlite, self.postgres):
            if templates is not None:
                templates.drop_all()
        self._stack.close()


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplates]:
    templates = StoreTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture(scope="session")
def sqlite_template(store_templates: StoreTemplates) -> Path:
    """One migrated SQLite file (its WAL checkpointed), copied for each test."""
    return Path(store_templates.sqlite.template(MIGRATED))


@pytest.fixture(scope="session")
def postgres_url(store_templates: StoreTemplates) -> Iterator[str]:
    """This worker's database on the server named by BRIDGE_TEST_POSTGRES_URL, migrated.

    Its name is the server URL's database name, the xdist worker and "_db" (bridge_fast_gw0_db).
    """
    base = os.environ.get("BRIDGE_TEST_POSTGRES_URL")
    if not base or store_templates.postgres is None:
        pytest.skip(
            "PostgreSQL tests need BRIDGE_TEST_POSTGRES_URL (a server URL; .ci/run sets it)"
        )
    url = make_url(base).set(database=pg_name(base, "db")).render_as_string(hide_password=False)
    store_templates.postgres.copy_into(url, MIGRATED)
    yield url
    admin = make_engine(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit tables refuse TRUNCATE (a trigger); the test superuser sets it aside.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # A test may have stamped another revision (the readiness and refusal tests).
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": head_revision()})
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The same test body on SQLite (a fresh file) and PostgreSQL (emptied tables)."""
    if request.param == "sqlite":
        target = tmp_path / "bridge.db"
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "bridge.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


# -- simulators --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ndelius_server() -> Iterator[str]:
    app = ndelius_sim.create_app(
        cases_dir=FIXTURES / "ndelius",
        client_id=SIM_CLIENT[0],
        client_secret=SIM_CLIENT[1],
        clock=SystemClock(),
    )
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def ndelius_url(ndelius_server: str) -> str:
    """The nDelius simulator, back at its seed for this test."""
    local.post(f"{ndelius_server}/__admin/reset").raise_for_status()
    local.delete(f"{ndelius_server}/__admin/faults").raise_for_status()
    return ndelius_server


@pytest.fixture(scope="session")
def visor_server() -> Iterator[str]:
    app = visor_sim.create_app(
        schema_path=default_mappings_dir() / "visor-record.xsd", clock=SystemClock()
    )
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def visor_url(visor_server: str) -> str:
    local.post(f"{visor_server}/__admin/reset").raise_for_status()
    local.delete(f"{visor_server}/__admin/faults").raise_for_status()
    return visor_server


@pytest.fixture(scope="session")
def notify_server() -> Iterator[str]:
    from bridge.sim import notify as notify_sim

    with serve_in_thread(notify_sim.create_app()) as url:
        yield url


@pytest.fixture
def notify_url(notify_server: str) -> str:
    """The GOV.UK Notify simulator, emptied for this test."""
    local.post(f"{notify_server}/__admin/reset").raise_for_status()
    return notify_server


@pytest.fixture
def make_wiring(
    clock: FixedClock, tmp_path: Path, store_templates: StoreTemplates
) -> Iterator[Callable[..., Wiring]]:
    """Build seeded wirings (fixture staff imported) that are closed after the test.

    `synced=True` (all fixture cases) or `synced={crn, …}` gives instead a store as after one
    sync of those cases (`full=True`: a full reconciliation), copied from a template: the
    other cases are removed from the test's simulator, as a test that synced would do. The
    store at `db_url` is replaced, so call it before anything connects to `db_url`.
    """
    built: list[Wiring] = []

    def factory(
        db_url: str,
        ndelius_url: str = "http://127.0.0.1:9",
        *,
        synced: bool | Iterable[str] = False,
        full: bool = False,
        **overrides: Any,
    ) -> Wiring:
        if synced is False:
            wiring = seeded_wiring(db_url, ndelius_url, clock, tmp_path, **overrides)
        else:
            assert clock.now() == FIXTURE_TODAY, "templates are synced on FIXTURE_TODAY"
            key = StoreKey.of(None if synced is True else synced, full=full)
            only_cases_or_all(ndelius_url, key.cases)
            store_templates.for_url(db_url).copy_into(db_url, key)
            wiring = wiring_for_test(db_url, ndelius_url, clock, **overrides)
        built.append(wiring)
        return wiring

    yield factory
    for wiring in built:
        wiring.close()
