"""Simulator apps are built one at a time in a process, whatever thread asks.

FastAPI's route set-up silences a pydantic warning (UnsupportedFieldAttributeWarning) inside
`warnings.catch_warnings()`, which swaps the process-wide warning filters and is not
thread-safe: two apps built at once on two threads can restore each other's filters
mid-build, so the warning escapes (and under `-W error` fails the build). Tests build
simulators from several threads (tests/cli/test_sync_resilience.py), so every simulator's
`create_app` runs under one lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["one_build_at_a_time"]

P = ParamSpec("P")
R = TypeVar("R")

_BUILDING = threading.RLock()  # re-entrant: one simulator's build may build another's parts


def one_build_at_a_time(build: Callable[P, R]) -> Callable[P, R]:
    """Run `build` under the process-wide simulator build lock."""

    @functools.wraps(build)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with _BUILDING:
            return build(*args, **kwargs)

    return locked
