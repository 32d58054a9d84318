"""Fixtures for the `bridge` command run in-process: a staffed store and a `Cli` runner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import structlog

from bridge.cli import run
from tests.builders import Cli, env_for, staff_file


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`run()` points structlog at this test's captured stderr, closed after the test: undo it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def today() -> date:
    return datetime.now(UTC).date()  # the CLI runs on the real (UTC) clock


def cli_setup(
    db_url: str, ndelius_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in env_for(db_url, ndelius_url).items():
        monkeypatch.setenv(key, value)
    assert run(["staff", "import", str(staff_file(tmp_path, today()))]) == 0


@pytest.fixture
def cli(
    sqlite_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """The CLI against a fresh SQLite store with the fixture staff imported."""
    cli_setup(sqlite_url, ndelius_url, monkeypatch, tmp_path)
    return Cli(capsys)


@pytest.fixture
def db_cli(
    db_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """The same, on SQLite and on PostgreSQL."""
    cli_setup(db_url, ndelius_url, monkeypatch, tmp_path)
    return Cli(capsys)
