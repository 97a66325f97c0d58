"""Business-time arithmetic on a policy's calendar: weekends, holidays, office hours, DST.

The office is in Europe/Amsterdam, open Monday to Friday 09:00-17:00 local time. In 2026
summer time starts on Sunday 29 March and ends on Sunday 25 October; the office still
opens at 09:00 local time on either side.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.policy.calendar import BusinessCalendar
from tocsin.policy.spans import Span

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = BusinessCalendar(zone=AMS)
#: Boxing day and New Year's day, both on weekdays in 2026 (Sat 26 Dec is a weekend).
CHRISTMAS = BusinessCalendar(
    zone=AMS, holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})
)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def as_local(moment: datetime) -> datetime:
    return moment.astimezone(AMS)


# --- add_business_time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        # Within one day.
        (local(2026, 1, 15, 10), timedelta(hours=1), local(2026, 1, 15, 11)),
        (local(2026, 1, 15, 9), timedelta(hours=8), local(2026, 1, 15, 17)),
        (local(2026, 1, 15, 10, 30), timedelta(0), local(2026, 1, 15, 10, 30)),
        # Over the evening: what is left continues at 09:00 the next morning.
        (local(2026, 1, 15, 16, 30), timedelta(hours=1), local(2026, 1, 16, 9, 30)),
        (local(2026, 1, 15, 9), timedelta(hours=10), local(2026, 1, 16, 11)),
        # Over the weekend: Friday afternoon to Monday morning.
        (local(2026, 1, 16, 16), timedelta(hours=2), local(2026, 1, 19, 10)),
        (local(2026, 1, 16, 9), timedelta(hours=24), local(2026, 1, 20, 17)),
        # Starting outside office hours counts from the next opening.
        (local(2026, 1, 15, 7), timedelta(hours=1), local(2026, 1, 15, 10)),
        (local(2026, 1, 15, 17), timedelta(hours=1), local(2026, 1, 16, 10)),
        (local(2026, 1, 15, 21), timedelta(minutes=30), local(2026, 1, 16, 9, 30)),
        (local(2026, 1, 17, 12), timedelta(hours=1), local(2026, 1, 19, 10)),
        (local(2026, 1, 18, 23, 59), timedelta(minutes=1), local(2026, 1, 19, 9, 1)),
        # Zero business time outside office hours is the next opening.
        (local(2026, 1, 17, 12), timedelta(0), local(2026, 1, 19, 9)),
    ],
)
def test_add_business_time(start: datetime, amount: timedelta, due: datetime) -> None:
    assert OFFICE.add_business_time(start, amount) == due


def test_the_answer_is_utc_whatever_zone_the_start_is_in() -> None:
    start = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
    due = OFFICE.add_business_time(start, timedelta(hours=1))
    assert due.utcoffset() == timedelta(0)
    assert due == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def test_late_evening_utc_is_already_the_next_day_in_the_office() -> None:
    # Thursday 23:30 UTC is Friday 00:30 in Amsterdam: the clock starts Friday 09:00.
    start = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    assert OFFICE.add_business_time(start, timedelta(hours=1)) == local(2026, 1, 16, 10)


def test_business_time_skips_holidays() -> None:
    # Thursday 24 Dec 16:00 + 2h: 1h on Thursday, Fri 25 holiday, weekend, Mon 28 holiday.
    due = CHRISTMAS.add_business_time(local(2026, 12, 24, 16), timedelta(hours=2))
    assert due == local(2026, 12, 29, 10)
    assert OFFICE.add_business_time(local(2026, 12, 24, 16), timedelta(hours=2)) == local(
        2026, 12, 25, 10
    )
    # Starting on a holiday is starting outside office hours.
    due = CHRISTMAS.add_business_time(local(2027, 1, 1, 11), timedelta(minutes=15))
    assert due == local(2027, 1, 4, 9, 15)


def test_business_time_across_the_start_of_summer_time() -> None:
    # Friday 27 March 16:00 CET (UTC+1) + 2h: 1h on Friday, 1h from Monday 09:00 CEST.
    start = local(2026, 3, 27, 16)
    due = OFFICE.add_business_time(start, timedelta(hours=2))
    assert as_local(due) == local(2026, 3, 30, 10)
    assert as_local(due).time() == time(10, 0)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # UTC+2 now
    assert start.utcoffset() == timedelta(hours=1) and as_local(due).utcoffset() == timedelta(
        hours=2
    )


def test_the_office_opens_at_nine_local_on_both_sides_of_summer_time() -> None:
    before = OFFICE.add_business_time(local(2026, 3, 27, 20), timedelta(0))  # Fri evening
    after = OFFICE.add_business_time(local(2026, 3, 28, 12), timedelta(0))  # Sat, CET
    assert before.astimezone(UTC).time() == time(7, 0)  # Monday 30 March is already CEST
    assert as_local(before) == local(2026, 3, 30, 9)
    assert after == before
    friday = OFFICE.add_business_time(local(2026, 3, 27, 7), timedelta(0))
    assert as_local(friday) == local(2026, 3, 27, 9)
    assert friday.astimezone(UTC).time() == time(8, 0)  # CET: 09:00 local is 08:00 UTC
    monday = OFFICE.add_business_time(local(2026, 3, 30, 7), timedelta(0))
    assert monday.astimezone(UTC).time() == time(7, 0)  # CEST: 09:00 local is 07:00 UTC


def test_business_time_across_the_end_of_summer_time() -> None:
    # Friday 23 October 16:00 CEST + 2h: Monday 26 October 10:00 CET (09:00 UTC).
    due = OFFICE.add_business_time(local(2026, 10, 23, 16), timedelta(hours=2))
    assert as_local(due) == local(2026, 10, 26, 10)
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_a_full_business_week_is_forty_hours_across_dst() -> None:
    # 40 business hours from Friday 27 March 09:00: Friday + four days, ends Thursday 17:00.
    due = OFFICE.add_business_time(local(2026, 3, 27, 9), timedelta(hours=40))
    assert as_local(due) == local(2026, 4, 2, 17)


def test_a_calendar_without_business_days_says_so() -> None:
    closed = BusinessCalendar(zone=AMS, weekdays=frozenset())
    with pytest.raises(ValueError, match="no business hours"):
        closed.add_business_time(local(2026, 1, 15, 10), timedelta(hours=1))
    with pytest.raises(ValueError, match="no business hours"):
        closed.add_business_days(local(2026, 1, 15, 10), 1)


def test_other_weekdays_and_hours() -> None:
    # A shop open Tuesday to Saturday, 10:00-18:00.
    shop = BusinessCalendar(
        zone=AMS, weekdays=frozenset({1, 2, 3, 4, 5}), opens=time(10), closes=time(18)
    )
    assert shop.add_business_time(local(2026, 1, 17, 17), timedelta(hours=2)) == local(
        2026, 1, 20, 11
    )
    assert shop.add_business_days(local(2026, 1, 17, 12), 1) == local(2026, 1, 20, 12)


# --- add_business_days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Same business moment, N business days later.
        (local(2026, 1, 14, 14), 1, local(2026, 1, 15, 14)),
        (local(2026, 1, 14, 14), 3, local(2026, 1, 19, 14)),  # Wed + 3 = Mon
        (local(2026, 1, 16, 14), 1, local(2026, 1, 19, 14)),  # Fri + 1 = Mon
        (local(2026, 1, 16, 14), 5, local(2026, 1, 23, 14)),
        (local(2026, 1, 14, 14), 0, local(2026, 1, 14, 14)),
        (local(2026, 1, 16, 9), 1, local(2026, 1, 16, 17)),  # a whole day from the opening
        # Outside office hours counts from the next opening: a full day is its close.
        (local(2026, 1, 14, 7), 1, local(2026, 1, 14, 17)),
        (local(2026, 1, 14, 19), 1, local(2026, 1, 15, 17)),
        (local(2026, 1, 14, 17), 1, local(2026, 1, 15, 17)),
        (local(2026, 1, 16, 18), 1, local(2026, 1, 19, 17)),  # Friday evening: Monday
        (local(2026, 1, 17, 12), 1, local(2026, 1, 19, 17)),  # Saturday: the end of Monday
        (local(2026, 1, 18, 12), 2, local(2026, 1, 20, 17)),
        (local(2026, 1, 17, 12), 0, local(2026, 1, 19, 9)),
    ],
)
def test_add_business_days(start: datetime, days: int, due: datetime) -> None:
    assert OFFICE.add_business_days(start, days) == due


def test_business_days_skip_holidays() -> None:
    # Thursday 24 Dec + 1bd: Fri 25 and Mon 28 are holidays, so Tuesday 29.
    assert CHRISTMAS.add_business_days(local(2026, 12, 24, 11), 1) == local(2026, 12, 29, 11)
    assert CHRISTMAS.add_business_days(local(2026, 12, 24, 11), 3) == local(2026, 12, 31, 11)
    assert CHRISTMAS.add_business_days(local(2026, 12, 31, 11), 1) == local(2027, 1, 4, 11)
    # On a holiday: from the next opening (Tuesday 29) on, a full day.
    assert CHRISTMAS.add_business_days(local(2026, 12, 25, 11), 1) == local(2026, 12, 29, 17)


def test_business_days_keep_the_local_time_across_dst() -> None:
    due = OFFICE.add_business_days(local(2026, 3, 27, 14), 1)
    assert as_local(due) == local(2026, 3, 30, 14)
    assert due == datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    due = OFFICE.add_business_days(local(2026, 10, 23, 14), 1)
    assert as_local(due) == local(2026, 10, 26, 14)
    assert due == datetime(2026, 10, 26, 13, 0, tzinfo=UTC)
    # A Saturday start before the change: the whole of Monday, closing 17:00 CEST.
    due = OFFICE.add_business_days(local(2026, 3, 28, 12), 1)
    assert due == datetime(2026, 3, 30, 15, 0, tzinfo=UTC)
    # Three business days from Thursday 26 March 10:00 CET: Tuesday 31 March 10:00 CEST.
    due = OFFICE.add_business_days(local(2026, 3, 26, 10), 3)
    assert as_local(due) == local(2026, 3, 31, 10)


# --- add: the policy's spans ----------------------------------------------------------------


def test_add_a_span() -> None:
    start = local(2026, 1, 16, 16)  # Friday afternoon
    assert OFFICE.add(start, Span(time=timedelta(hours=2))) == local(2026, 1, 16, 18)
    assert OFFICE.add(start, Span(time=timedelta(hours=2)), business_hours=True) == local(
        2026, 1, 19, 10
    )
    assert OFFICE.add(start, Span(business_days=1)) == local(2026, 1, 19, 16)
    # Business days are business days whether or not the target says business_hours.
    assert OFFICE.add(start, Span(business_days=1), business_hours=True) == local(2026, 1, 19, 16)


def test_plain_time_ignores_dst_and_office_hours() -> None:
    start = local(2026, 3, 28, 12)  # Saturday, CET
    due = OFFICE.add(start, Span(time=timedelta(days=1)))
    # 24 hours of elapsed time, not "the same wall-clock time tomorrow" (23 hours here).
    assert due.utcoffset() == timedelta(0)
    assert due - start.astimezone(UTC) == timedelta(days=1)
    assert as_local(due) == local(2026, 3, 29, 13)
    assert as_local(OFFICE.add(start, Span(time=timedelta(hours=2)))) == local(2026, 3, 28, 14)


def test_the_policy_calendar() -> None:
    from tocsin.policy.loader import load_policy_text

    policy = load_policy_text(
        "organization:\n"
        "  name: Acme\n"
        "  timezone: Europe/Amsterdam\n"
        "  business_hours: {days: [mon, wed], start: 08:30, end: 12:00}\n"
        "  holidays: [2026-01-19]\n"
        "severities: [{key: SEV1, name: Critical}]\n"
    )
    calendar = policy.organization.calendar()
    assert calendar.zone == AMS
    assert calendar.weekdays == frozenset({0, 2})
    assert (calendar.opens, calendar.closes) == (time(8, 30), time(12, 0))
    assert calendar.holidays == frozenset({date(2026, 1, 19)})
    # Wednesday 14 Jan 11:30 + 1h: 30m left there, Monday 19 is a holiday, so Wed 21 09:00.
    assert calendar.add_business_time(local(2026, 1, 14, 11, 30), timedelta(hours=1)) == local(
        2026, 1, 21, 9
    )
