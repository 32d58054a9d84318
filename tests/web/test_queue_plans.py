"""The queue is read from its indexes: the plans SQLite chooses once statistics are current.

The partial index of waiting work is only usable when the query repeats its condition word for
word, so a harmless-looking rewrite of the WHERE clause would silently make every queue page
read the whole table. These tests read the plans of the statements the queue actually sends.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from bridge.services.queue_view import QueueFilters
from bridge.wiring import Wiring
from tests.builders import MakeWiring


@pytest.fixture
def synced_sqlite(make_wiring: MakeWiring, sqlite_url: str, ndelius_url: str) -> Wiring:
    """A SQLite store after one full sync of the fixture cases (which refreshes statistics)."""
    wiring = make_wiring(sqlite_url, ndelius_url)
    with wiring.ndelius() as source:
        wiring.sync_service(source).run(full=True)
    return wiring


def _plans(
    wiring: Wiring, filters: QueueFilters | None = None, *, listing: str = ""
) -> dict[str, str]:
    """Each SELECT on `entry` the queue page (or, with `listing`, `queue list --status
    listing`) sent, with SQLite's plan for it."""
    sent: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if "FROM entry" in statement:
            sent.append((statement, params))

    event.listen(wiring.engine, "before_cursor_execute", capture)
    try:
        if listing:
            wiring.queue.listing(listing)
        else:
            wiring.queue.page(actor="N07P005", filters=filters or QueueFilters())
    finally:
        event.remove(wiring.engine, "before_cursor_execute", capture)
    with wiring.engine.connect() as conn:
        return {
            statement: " / ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )
            for statement, params in sent
        }


def test_statistics_are_refreshed_after_a_sync(synced_sqlite: Wiring) -> None:
    with synced_sqlite.engine.connect() as conn:
        indexes = {
            r[0] for r in conn.execute(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'entry'"))
        }
    assert {"ix_entry_waiting", "ix_entry_status_queue"} <= indexes


def test_the_default_queue_reads_the_partial_index_of_waiting_work(synced_sqlite: Wiring) -> None:
    plans = _plans(synced_sqlite, QueueFilters())
    paging = [p for s, p in plans.items() if "ORDER BY" in s and "LIMIT" in s]
    assert paging, plans
    assert all("ix_entry_waiting" in p and "TEMP B-TREE" not in p for p in paging), plans
    counts = [p for s, p in plans.items() if "count(" in s]
    assert counts, plans
    assert all("COVERING INDEX" in p for p in counts), plans


def test_one_state_reads_the_state_index_in_due_order(synced_sqlite: Wiring) -> None:
    plans = _plans(synced_sqlite, QueueFilters(state="pending"))
    paging = [p for s, p in plans.items() if "ORDER BY" in s and "LIMIT" in s]
    assert paging, plans
    assert all("COVERING INDEX" in p and "TEMP B-TREE" not in p for p in paging), plans


def test_queue_list_reads_the_pages_state_index_and_no_record(synced_sqlite: Wiring) -> None:
    plans = _plans(synced_sqlite, listing="pending")
    assert len(plans) == 1, plans
    [(statement, plan)] = plans.items()
    assert "ix_entry_status_queue" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    selected = statement.split("FROM entry")[0]
    assert "xml" not in selected, statement
    assert "diff" not in selected, statement
    rows = synced_sqlite.queue.listing("pending")
    assert rows
    assert [(r.due_date, r.id) for r in rows] == sorted((r.due_date, r.id) for r in rows)
