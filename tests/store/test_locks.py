"""One sync at a time: the job lock on SQLite (a lock file) and PostgreSQL (an advisory lock)."""

from __future__ import annotations

import json

import pytest

from bridge.cli import run
from bridge.store.db import make_engine
from bridge.store.locks import job_lock
from tests.builders import MakeWiring, env_for


def test_second_holder_is_refused_until_the_first_releases(db_url: str) -> None:
    engine = make_engine(db_url)
    other = make_engine(db_url)
    try:
        with job_lock(engine, "sync") as first:
            assert first is True
            with job_lock(other, "sync") as second:
                assert second is False
            with job_lock(other, "another-job") as unrelated:
                assert unrelated is True
        with job_lock(other, "sync") as again:
            assert again is True
    finally:
        engine.dispose()
        other.dispose()


def test_sync_while_another_runs_is_skipped(
    db_url: str,
    ndelius_url: str,
    make_wiring: MakeWiring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wiring = make_wiring(db_url, ndelius_url)
    for key, value in env_for(db_url, ndelius_url).items():
        monkeypatch.setenv(key, value)
    with job_lock(wiring.engine, "sync") as held:
        assert held
        assert run(["sync", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"skipped": "another sync is running"}
    assert wiring.queue.listing() == []
