"""The Alembic baseline produces exactly the models' schema; upgrading is idempotent; a database
stamped with a revision not here (a squashed pre-release one, or a newer one) is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlmodel import SQLModel

import bridge.store.models  # noqa: F401  (registers every table on SQLModel.metadata)
from bridge.store.db import make_engine
from bridge.store.migrate import PRE_RELEASE_REVISIONS, UnknownSchema, alembic_config, upgrade
from tests.builders import Cli


def _differences(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    assert _differences(db_url) == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        upgrade(engine)
        upgrade(engine)
        with engine.connect() as conn:
            after = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert before == after
        assert len(after) == 1
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    finally:
        engine.dispose()
    assert _differences(db_url) == []


def test_the_comparison_sees_a_model_change(sqlite_url: str) -> None:
    """Guards the test above: a column the migrations lack is reported."""
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["entry"].append_column(Column("extra_note", String(20)))
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), changed)
    finally:
        engine.dispose()
    assert [(d[0], d[3].name) for d in diffs] == [("add_column", "extra_note")]


def test_the_history_starts_at_one_baseline() -> None:
    """0001 to 0007 were squashed before the first release: the baseline, then what followed."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert [s.revision for s in script.walk_revisions()] == [
        "0008_sent_values",
        "0007_notify",
        "0006_work_facts",
        "0005_held_forms",
        "0004_privilege_requests",
        "0003_audit_hmac",
        "0002_attention",
        "0001_baseline",
    ]
    assert PRE_RELEASE_REVISIONS.isdisjoint({"0001_baseline"})


def _stamp(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("revision", "says"),
    [("0005", "pre-release visor-bridge (schema revision 0005)"), ("0042_future", "newer release")],
)
def test_a_database_at_a_revision_not_here_is_refused_in_one_line(
    db_url: str,
    revision: str,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _stamp(db_url, revision)
    engine = make_engine(db_url)
    try:
        with pytest.raises(UnknownSchema, match=re.escape(says)):
            upgrade(engine)
    finally:
        engine.dispose()

    monkeypatch.setenv("BRIDGE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRIDGE_ENVIRONMENT", "development")
    code, out, err = Cli(capsys)("db", "upgrade")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert err.startswith("visor-bridge: This database ")
    assert "BRIDGE_DATABASE_URL" in err  # what the operator can do
    assert "Traceback" not in err
