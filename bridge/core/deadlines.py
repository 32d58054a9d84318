"""Entry due dates in working days, skipping weekends and England and Wales bank holidays."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = ["add_working_days", "is_working_day"]


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    # The holidays package is static data: no network, no clock.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (a change on a Friday + 1 = Monday)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
