"""Simulators built from several threads at once: each build succeeds (bridge.sim.building).

FastAPI's route set-up swaps the process-wide warning filters, which is not thread-safe; the
suite turns warnings into errors, so unsynchronised builds could fail at random.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from bridge.clock import FixedClock
from bridge.config import default_mappings_dir
from bridge.sim import ndelius, visor

from .kit import CLIENT_ID, CLIENT_SECRET, START

THREADS = 6


def test_simulators_built_on_many_threads_at_once_all_build() -> None:
    clock = FixedClock(START)
    start = threading.Barrier(THREADS)

    def build(n: int) -> int:
        start.wait()  # every thread starts building at the same moment
        for _ in range(3):
            if n % 2:
                app = ndelius.create_app(
                    cases_dir=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=clock
                )
            else:
                app = visor.create_app(
                    schema_path=default_mappings_dir() / "visor-record.xsd", clock=clock
                )
            assert app.routes
        return n

    with ThreadPoolExecutor(THREADS) as pool:
        assert sorted(pool.map(build, range(THREADS))) == list(range(THREADS))
