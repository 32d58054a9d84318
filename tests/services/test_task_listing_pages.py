"""The task pages' listing: a page at a time without counting the whole queue."""

from __future__ import annotations

from bridge.wiring import Wiring
from tests.builders import PROXY, MakeWiring


def test_a_page_without_a_count_says_only_whether_another_follows(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w: Wiring = make_wiring(db_url, ndelius_url, synced=True, full=True)
    counted = w.tasks.listing(actor=PROXY, limit=5)
    assert counted.total > 10
    first = w.tasks.listing(actor=PROXY, limit=5, count=False)
    assert [r.crn for r in first.rows] == [r.crn for r in counted.rows]
    assert first.total == 6  # this page and one more row: there is a next page
    every = [r.crn for r in w.tasks.listing(actor=PROXY).rows]
    last_offset = (len(every) - 1) // 5 * 5
    last = w.tasks.listing(actor=PROXY, limit=5, offset=last_offset, count=False)
    assert [r.crn for r in last.rows] == every[last_offset:]
    assert last.total == len(every)  # no row beyond it: no next page
