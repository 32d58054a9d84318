"""A sender process for tests/services/test_notify_crash.py: `python -m tests.notify_crash_child N`
delivers the outbox (settings from BRIDGE_*) and SIGKILLs itself at its Nth committed step
(0: never) — after a row is marked sending, after Notify answered, or after it is marked sent."""

from __future__ import annotations

import os
import signal
import sys

from bridge.config import Settings
from bridge.wiring import Wiring


def main() -> None:
    kill_at = int(sys.argv[1])
    steps = 0

    def step(_name: str) -> None:
        nonlocal steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    Wiring(Settings()).notify(after_commit=step).send()


if __name__ == "__main__":
    main()
