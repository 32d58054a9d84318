"""Due dates in working days across weekends and England and Wales bank holidays."""

from __future__ import annotations

from datetime import date

import pytest

from bridge.core.deadlines import add_working_days, is_working_day


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Friday + 1 = Monday
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # a change on a Saturday
        (date(2026, 11, 22), 1, date(2026, 11, 23)),  # ... or a Sunday
        (date(2026, 11, 23), 3, date(2026, 11, 26)),  # Monday + 3 = Thursday
        (date(2026, 11, 19), 3, date(2026, 11, 24)),  # Thursday + 3 crosses the weekend
        (date(2026, 11, 23), 0, date(2026, 11, 23)),
        # Christmas 2026: Friday 25 Dec, Boxing Day Saturday 26 Dec → substitute Monday 28 Dec
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        (date(2026, 12, 23), 2, date(2026, 12, 29)),
        (date(2026, 12, 24), 3, date(2026, 12, 31)),
        (date(2026, 12, 24), 4, date(2027, 1, 4)),  # New Year's Day 2027 is a Friday
        # Easter 2026: Good Friday 3 April, Easter Monday 6 April
        (date(2026, 4, 2), 1, date(2026, 4, 7)),
        (date(2026, 4, 1), 3, date(2026, 4, 8)),
        (date(2026, 4, 3), 1, date(2026, 4, 7)),  # a change on Good Friday itself
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 23), True),
        (date(2026, 11, 21), False),
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),
        (date(2026, 12, 28), False),  # Boxing Day substitute
        (date(2026, 12, 29), True),
        (date(2026, 4, 3), False),
        (date(2026, 4, 6), False),
        (date(2026, 4, 7), True),
        (date(2026, 8, 31), False),  # summer bank holiday (England)
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working
