"""SQLite files and folders are owner-only in every environment (issue 18; ARCHITECTURE §7).
Before: the database was created 0644 (readable by every local user)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from bridge.store.db import make_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_folders_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "made" / "by" / "bridge.db"
        engine = make_engine(f"sqlite:///{db}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert {p.name: _mode(p) for p in files if p.exists()} == {p.name: 0o600 for p in files}
        assert _mode(db.parent) == 0o700
        assert _mode(db.parent.parent) == 0o700
        engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_database_readable_by_others_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    db.touch()
    os.chmod(db, 0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert _mode(db) == 0o600


def test_an_in_memory_database_touches_no_file(tmp_path: Path) -> None:
    make_engine("sqlite://").dispose()
    make_engine("sqlite:///:memory:").dispose()
    assert list(tmp_path.iterdir()) == []
