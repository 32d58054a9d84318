"""A change reaches the queue within a minute (issue 19): the sync runs every 30 s by default,
so a run that finds no events must cost almost nothing — one event page, the token kept from
the run before, and no reading process."""

from __future__ import annotations

from bridge.config import Settings
from bridge.wiring import Wiring
from tests.builders import MakeWiring


def test_a_run_that_finds_no_events_costs_one_event_page_and_no_process(
    make_wiring: MakeWiring, sqlite_url: str, ndelius_url: str
) -> None:
    seeded = make_wiring(sqlite_url, ndelius_url, synced=True)
    seeded.close()
    # The system clock, as the scheduler has: cases would be read in a process of their own.
    wiring = Wiring(seeded.settings)
    try:
        costs = []
        for _ in range(3):
            with wiring.ndelius() as source:
                service = wiring.sync_service(source)
                result = service.run()
                assert result is not None
                costs.append((source.requests, source.token_requests, result.events_read))
            assert service.reader_stats is None  # no reading process was started
        first, *idle = costs
        assert first[1] == 1  # the first run fetched the token ...
        assert idle == [(1, 0, 0), (1, 0, 0)]  # ... later ones kept it: one event page each
    finally:
        wiring.close()


def test_the_default_interval_is_thirty_seconds() -> None:
    assert Settings().sync_interval_seconds == 30
