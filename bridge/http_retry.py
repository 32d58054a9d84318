"""Retry plumbing both HTTP clients share: what is worth retrying, and how long to wait.

The wait honours `Retry-After` (seconds or an HTTP date), otherwise backs off
exponentially; either way it is capped, and the caller sleeps through the injected clock.
"""

from __future__ import annotations

import email.utils
from datetime import datetime

from tenacity import RetryCallState
from tenacity.wait import wait_exponential

__all__ = ["RETRY_STATUS", "RetryWait", "Retryable", "retry_after"]

#: Statuses worth another attempt: throttling and server-side trouble.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class Retryable(Exception):
    """One attempt failed in a way worth trying again (never leaves the client)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header, or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (email.utils.parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


class RetryWait:
    """A tenacity `wait`: the server's `Retry-After` if it sent one, else exponential backoff."""

    def __init__(self, *, base: float, max_wait: float) -> None:
        self._backoff = wait_exponential(multiplier=base, max=max_wait)
        self._max_wait = max_wait

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self._max_wait)
        return min(float(self._backoff(state)), self._max_wait)
