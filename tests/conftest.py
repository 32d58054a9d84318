"""Shared fixtures: real SQLite and PostgreSQL, simulators on loopback sockets, a fixed clock."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bridge.clock import FixedClock, SystemClock
from bridge.config import default_mappings_dir
from bridge.sim import ndelius as ndelius_sim
from bridge.sim import visor as visor_sim
from bridge.sim.server import serve_in_thread
from bridge.store.db import make_engine
from bridge.store.migrate import upgrade
from bridge.wiring import Wiring
from tests.builders import seeded_wiring

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SIM_CLIENT = ("bridge-test", "bridge-test-secret")
#: CI sets this: a skipped PostgreSQL or browser test is then a failure, never silent.
REQUIRE_ALL = os.environ.get("BRIDGE_TEST_REQUIRE_ALL") == "1"
#: The day the fixtures' staff registry is read as of (proxy vetting current, one expired).
FIXTURE_TODAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under BRIDGE_TEST_REQUIRE_ALL=1 nothing may skip: a skip becomes a failure."""
    report = yield
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under BRIDGE_TEST_REQUIRE_ALL=1 (CI): {reason}"
    return report


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BRIDGE_* from the developer's shell, and no stray .env, reaches a test."""
    for key in list(os.environ):
        if key.startswith("BRIDGE_") and key not in {
            "BRIDGE_TEST_POSTGRES_URL",
            "BRIDGE_TEST_REQUIRE_ALL",
        }:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FIXTURE_TODAY)


# -- databases -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating once keeps tests fast)."""
    path = tmp_path_factory.mktemp("template") / "bridge.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A uniquely named, migrated database on the server named by BRIDGE_TEST_POSTGRES_URL."""
    base = os.environ.get("BRIDGE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need BRIDGE_TEST_POSTGRES_URL (a server URL; .ci/run sets it)"
        )
    admin = make_engine(base)
    name = f"bridge_test_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The same test body on SQLite (a fresh file) and PostgreSQL (emptied tables)."""
    if request.param == "sqlite":
        target = tmp_path / "bridge.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "bridge.db"
    shutil.copy(sqlite_template, target)
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
    httpx.post(f"{ndelius_server}/__admin/reset").raise_for_status()
    httpx.delete(f"{ndelius_server}/__admin/faults").raise_for_status()
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
    httpx.post(f"{visor_server}/__admin/reset").raise_for_status()
    httpx.delete(f"{visor_server}/__admin/faults").raise_for_status()
    return visor_server


@pytest.fixture
def make_wiring(clock: FixedClock, tmp_path: Path) -> Iterator[Callable[..., Wiring]]:
    """Build seeded wirings (fixture staff imported) that are closed after the test."""
    built: list[Wiring] = []

    def factory(db_url: str, ndelius_url: str = "http://127.0.0.1:9", **overrides: Any) -> Wiring:
        wiring = seeded_wiring(db_url, ndelius_url, clock, tmp_path, **overrides)
        built.append(wiring)
        return wiring

    yield factory
    for wiring in built:
        wiring.close()
