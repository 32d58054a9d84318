"""Fixtures for `visor-bridge` run in-process on the fixed clock: a staffed store and a `Cli` runner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import structlog

from bridge.cli import run
from bridge.clock import FixedClock
from tests.builders import FIXTURE_TODAY, Cli, MakeWiring, env_for, expected_entry_count, staff_file


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`run()` points structlog at this test's captured stderr, closed after the test: undo it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def today() -> date:
    """The day in-process commands run on (the `clock` fixture's): no test depends on the
    wall clock, so none fails when run across midnight."""
    return FIXTURE_TODAY.date()


def cli_env(db_url: str, ndelius_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env_for(db_url, ndelius_url).items():
        monkeypatch.setenv(key, value)


def cli_setup(
    db_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    clock: FixedClock | None = None,
) -> None:
    cli_env(db_url, ndelius_url, monkeypatch)
    staff = staff_file(tmp_path, today())
    assert run(["staff", "import", str(staff)], clock=clock or FixedClock(FIXTURE_TODAY)) == 0


@pytest.fixture
def cli(
    sqlite_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clock: FixedClock,
) -> Cli:
    """The CLI against a fresh SQLite store with the fixture staff imported."""
    cli_setup(sqlite_url, ndelius_url, monkeypatch, tmp_path, clock)
    return Cli(capsys, clock)


@pytest.fixture
def db_cli(
    db_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clock: FixedClock,
) -> Cli:
    """The same, on SQLite and on PostgreSQL."""
    cli_setup(db_url, ndelius_url, monkeypatch, tmp_path, clock)
    return Cli(capsys, clock)


SYNCED = {"G719053", "F600218"}


@pytest.fixture
def synced_cli(
    make_wiring: MakeWiring,
    sqlite_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clock: FixedClock,
) -> Cli:
    """The CLI over a store as after one `visor-bridge sync` of two cases (the template's):
    G719053 (Unicode) and F600218 (excludes N07P004); the other cases are not in the simulator.

    `test_end_to_end_sync_review_and_status` runs the sync command itself.
    """
    make_wiring(sqlite_url, ndelius_url, synced=SYNCED)
    cli_env(sqlite_url, ndelius_url, monkeypatch)
    cli = Cli(capsys, clock)
    assert len(cli.json("queue", "list")) == expected_entry_count(SYNCED)
    return cli
