"""Erasure that proves itself (issue 17): a reader holding the SQLite database keeps the person's
bytes in the WAL, so the erasure is not counted but listed; the file-drop folder is cleared."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bridge.clock import FixedClock
from bridge.services.sync.erasure import retry_incomplete
from bridge.store.db import make_engine
from bridge.store.models import Attention, AuditEvent
from tests.builders import Cli, only_cases
from tests.cli.test_scope_scenarios import _approve, _content_strings, _one, _queue, _sync
from tests.loopback import local


def test_a_reader_holding_the_database_leaves_the_erasure_incomplete_and_listed(
    sqlite_url: str, cli: Cli, ndelius_url: str, clock: FixedClock
) -> None:
    gone = "G719053"
    only_cases(ndelius_url, {gone, "A117839"})
    _sync(cli)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    reader = sqlite3.connect(path)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM entry").fetchone()  # holds its snapshot
        local.delete(f"{ndelius_url}/__admin/cases/{gone}").raise_for_status()
        result = _sync(cli)
        assert (result["cases_erased"], result["erasures_incomplete"]) == (0, 1)
        # why it is not erased: the reader's snapshot keeps the old pages from the main file
        held = path.read_bytes() + Path(f"{path}-wal").read_bytes()
        assert any(v in held for v in _content_strings(gone))
        engine = make_engine(sqlite_url)
        with Session(engine) as s:
            listed = s.exec(select(Attention)).all()
            assert [(a.crn, a.reason) for a in listed] == [(gone, "erasure_incomplete")]
            [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "erasure.incomplete"))
            assert event.detail == {"step": "wal_checkpoint"}
        code, out, _err = cli("admin", "attention", "--as", "ADM0001", "--json")
        assert code == 0
        assert {"crn": gone, "reason": "erasure_incomplete"}.items() <= json.loads(out)[0].items()
    finally:
        reader.rollback()
        reader.close()
    assert retry_incomplete(engine, now=clock.now(), actor="system:retention") == [gone]
    with Session(engine) as s:
        assert s.exec(select(Attention)).all() == []
    for file in (path, Path(f"{path}-wal")):
        if file.exists():
            data = file.read_bytes()
            assert not any(v in data for v in _content_strings(gone)), file
    engine.dispose()


def test_file_drop_records_of_the_person_are_removed_with_their_manifest_lines(
    sqlite_url: str, cli: Cli, ndelius_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone, kept = "G719053", "A117839"
    drop = tmp_path / "drop"
    monkeypatch.setenv("BRIDGE_SINK", "file-drop")
    monkeypatch.setenv("BRIDGE_DROP_DIR", str(drop))
    only_cases(ndelius_url, {gone, kept})
    _sync(cli)
    for crn in (gone, kept):
        _approve(cli, _one(_queue(cli, crn, "pending"), "identity")["id"])
    assert cli("submit")[0] == 0
    manifest = drop / "manifest.jsonl"
    before = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert {row["crn"] for row in before} == {gone, kept}
    local.delete(f"{ndelius_url}/__admin/cases/{gone}").raise_for_status()
    result = _sync(cli)
    assert result["cases_erased"] == 1
    after = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert {row["crn"] for row in after} == {kept}
    assert sorted(p.name for p in drop.glob("*.xml")) == sorted(row["file"] for row in after)
    for file in drop.iterdir():
        assert not any(v in file.read_bytes() for v in _content_strings(gone)), file
