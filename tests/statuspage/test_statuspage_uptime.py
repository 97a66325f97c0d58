"""Uptime per day from a status history (pure): shares of the local day, a day of 23
hours at the change to summer time, the part of today that has passed, the days before a
component existed, and the rules that combine statuses into an impact and an indicator."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tocsin.statuspage import rules, uptime

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_shares_of_the_local_day() -> None:
    changes = [
        (at(1, 0, 1), "operational"),
        (at(27, 23), "major_outage"),  # 00:00 Amsterdam, 28 March
        (at(28, 5), "under_maintenance"),  # counts as up
        (at(28, 11), "degraded_performance"),  # counts as down
        (at(28, 17), "operational"),
    ]
    days = [date(2026, 3, 27), date(2026, 3, 28), date(2026, 3, 29)]
    got = uptime.uptime_days(changes, days, AMSTERDAM, at(31, 0))
    assert [d.worst for d in got] == ["operational", "major_outage", "operational"]
    assert got[0].uptime == 1.0
    assert got[1].uptime == 12 / 24  # down 00-06 and 12-18 local
    assert got[2].uptime == 1.0


def test_the_short_day_of_summer_time_and_the_passed_part_of_today() -> None:
    start, end = uptime.day_bounds(date(2026, 3, 29), AMSTERDAM)
    assert (end - start).total_seconds() == 23 * 3600
    changes = [(at(1, 0), "operational"), (at(29, 10), "partial_outage")]
    (day,) = uptime.uptime_days(changes, [date(2026, 3, 29)], AMSTERDAM, at(29, 12))
    # Passed: 23:00 UTC the day before to 12:00 UTC = 13 h; down from 10:00 UTC = 2 h.
    assert day.uptime == 11 / 13


def test_before_it_existed_nothing_counts() -> None:
    changes = [(at(10, 12), "operational"), (at(10, 18), "major_outage")]
    got = uptime.uptime_days(
        changes, [date(2026, 3, 9), date(2026, 3, 10)], ZoneInfo("UTC"), at(11, 0)
    )
    assert got[0].uptime == 1.0 and got[0].worst == "operational"
    assert got[1].uptime == 0.5  # 12:00-18:00 up, 18:00-24:00 down
    assert uptime.percent([d.uptime for d in got]) == 75.0
    assert uptime.last_days(at(11, 0), ZoneInfo("UTC"), 3) == [
        date(2026, 3, 9),
        date(2026, 3, 10),
        date(2026, 3, 11),
    ]


def test_impact_and_indicator() -> None:
    assert rules.impact_of(["operational", "degraded_performance"]) == "minor"
    assert rules.impact_of(["partial_outage", "degraded_performance"]) == "major"
    assert rules.impact_of(["major_outage"]) == "critical"
    assert rules.indicator(["operational"], [], False) == "none"
    assert rules.indicator(["operational"], [], True) == "maintenance"
    assert rules.indicator(["under_maintenance"], [], False) == "maintenance"
    assert rules.indicator(["under_maintenance"], ["minor"], False) == "minor"
    assert rules.indicator(["operational"], ["critical"], True) == "critical"
    assert rules.worst_status(["under_maintenance", "operational"]) == "under_maintenance"
