"""Sender processes for tests/services/test_notify_crash.py, forked from a warm zygote.

`python -m tests.notify_crash_child` imports the sender once, then for each line `run N` read
on stdin forks a child that delivers the outbox (settings from BRIDGE_*) and SIGKILLs itself at
its Nth committed step (0: never) — after a row is marked sending, after Notify answered, or
after it is marked sent. It prints `pid P` when the child starts and `exit P CODE` when it
ends (CODE negative for a signal), so the test can also kill the child itself at any moment.
The zygote has no threads and no connections when it forks; each child builds its own, as
`Wiring.notify()` does. Forking keeps 20 crashes within seconds.
"""

from __future__ import annotations

import os
import signal
import sys

from bridge.clock import SystemClock
from bridge.config import Settings
from bridge.notify_client import NotifyClient
from bridge.services.notify import NotifyService
from bridge.store.db import make_engine


def _send(kill_at: int) -> None:
    steps = 0

    def step(_name: str) -> None:
        nonlocal steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    settings = Settings()
    clock = SystemClock()
    assert settings.notify_api_key is not None
    key = settings.notify_api_key.get_secret_value()
    NotifyService(
        engine=make_engine(settings.database_url),
        clock=clock,
        client=lambda: NotifyClient(key, settings.notify_url, sleep=clock.sleep, max_wait=0),
        templates=settings.notify_templates(),
        after_commit=step,
    ).send()


def main() -> None:
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command != "run":
            break
        pid = os.fork()
        if pid == 0:
            try:
                _send(int(argument))
            finally:
                os._exit(0)
        print(f"pid {pid}", flush=True)  # noqa: T201
        _, status = os.waitpid(pid, 0)
        print(f"exit {pid} {os.waitstatus_to_exitcode(status)}", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
