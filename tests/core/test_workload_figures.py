"""The pure workload figures (issue 15): weeks in Europe/London, rounding, privacy, backlog."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bridge.core.workload import AWAIT, ENTERED, HOLD, End, Mark, Start, ops_for, week_of
from bridge.core.workload_figures import (
    FEWER_THAN_3,
    Closed,
    Opened,
    WeekRow,
    backlog_weeks,
    forecast_clear,
    minutes,
    report_csv,
    report_rows,
    totals,
)

MON = date(2026, 11, 23)


def _row(staff: str, team: str, seconds: int = 600, role: str = "proxy") -> WeekRow:
    return WeekRow(MON, role, staff, team, 1, 2, seconds, 0, 0)


def test_a_week_starts_on_monday_in_london() -> None:
    # Sunday 23:30 BST is Sunday; 23:30 UTC on the same day is Monday 00:30 BST.
    assert week_of(datetime(2027, 3, 28, 22, 30, tzinfo=UTC)) == date(2027, 3, 22)
    assert week_of(datetime(2027, 3, 28, 23, 30, tzinfo=UTC)) == date(2027, 3, 29)
    assert week_of(date(2026, 11, 29)) == MON


def test_what_an_audited_action_means_for_the_work() -> None:
    assert ops_for("entry.approved", "P1", {}) == [End(HOLD, "approved"), Start(AWAIT, "P1")]
    assert ops_for("entry.reassigned", "ADM", {"was": "P1", "to": "P2"})[1] == Start(HOLD, "P2")
    assert Mark(ENTERED, None) in ops_for("entry.accepted", "system:submit", {})
    assert ops_for("entry.viewed", "P1", {}) == []


def test_minutes_round_to_the_nearest() -> None:
    assert [minutes(s) for s in (0, 29, 30, 89, 90)] == [0, 0, 1, 1, 2]


def test_rows_sum_over_teams_and_small_provider_totals_are_hidden() -> None:
    rows = [
        _row("P1", "N07AAA"),
        _row("P1", "N07BBB"),
        _row("P2", "N07AAA"),
        _row("O1", "N07AAA", role="officer"),
    ]
    [p1, p2] = report_rows(rows)
    assert (p1.staff, p1.entries, p1.handling_minutes) == ("P1", 4, 20)
    assert p2.staff == "P2"
    [provider] = totals(rows, "provider", hide_small=True)
    assert (provider.key, provider.people, provider.cell("entries")) == ("N07", 2, FEWER_THAN_3)
    three = [*rows, _row("P3", "N07CCC")]
    assert totals(three, "provider", hide_small=True)[0].cell("entries") == 8
    assert report_csv([p1]).splitlines()[1] == "P1,2026-11-23,2,4,20,0,0"


def test_the_backlog_at_each_week_end_and_the_forecast() -> None:
    weeks = [date(2026, 11, 9), date(2026, 11, 16), MON]
    opened = [Opened(date(2026, 11, 9), date(2026, 11, 12), 2)]
    closed = [
        Closed(date(2026, 11, 9), date(2026, 11, 12), date(2026, 11, 16), "entered", False, 3),
        Closed(date(2026, 11, 16), date(2026, 11, 19), MON, "entered", True, 1),
    ]
    first, second, third = backlog_weeks(weeks, opened, closed, today=date(2026, 11, 24))
    assert (first.open, first.overdue, first.arrived) == (5, 5, 5)  # due 12th, Sunday 15th
    assert (second.open, second.entered, second.service_level) == (3, 3, 100)
    assert (third.open, third.entered_on_time, third.service_level) == (2, 0, 0)
    assert third.open_by_band == {"Under 1 week": 0, "1 to 4 weeks": 2, "Over 4 weeks": 0}
    assert forecast_clear(0, [], MON) == MON
    assert forecast_clear(2, [second], MON) == date(2026, 11, 30)  # 3 closed - 1 arrived: a week
    assert forecast_clear(2, [first], MON) is None  # more arrived than closed
