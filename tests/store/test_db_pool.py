"""PostgreSQL connections dropped while idle in the pool are replaced before use (issue 19):
the check costs a round trip only for a connection that sat unused, not on every checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import Engine

from bridge.store.db import make_engine

pytestmark = pytest.mark.postgres


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _end_backend(url: str, pid: int) -> None:
    """What a server restart or an idle timeout does to a pooled connection."""
    admin = make_engine(url)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            conn.commit()
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced(postgres_url: str) -> None:
    engine = make_engine(postgres_url, idle_check_seconds=0)  # every return counts as idle
    try:
        first = _backend_pid(engine)
        _end_backend(postgres_url, first)
        second = _backend_pid(engine)  # the checkout finds it dead and connects again
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_checked(postgres_url: str) -> None:
    """The other side of the trade: no round trip for it, so a drop shows on its next use
    (once: the pool then drops its connections and the next use connects afresh)."""
    engine = make_engine(postgres_url, idle_check_seconds=3600)
    try:
        first = _backend_pid(engine)
        _end_backend(postgres_url, first)
        with pytest.raises(exc.OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_the_check_leaves_the_connection_out_of_any_transaction(postgres_url: str) -> None:
    """A checked connection can still be switched to autocommit (CREATE DATABASE needs it)."""
    engine = make_engine(postgres_url, idle_check_seconds=0)
    try:
        _backend_pid(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
