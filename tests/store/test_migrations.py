"""The Alembic migrations produce exactly the models' schema, and upgrading is idempotent."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlmodel import SQLModel

import bridge.store.models  # noqa: F401  (registers every table on SQLModel.metadata)
from bridge.store.db import make_engine
from bridge.store.migrate import upgrade


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
