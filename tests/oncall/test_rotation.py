"""On-call rotations: the seed runbooks, daylight saving, overrides, merging, validation.

Europe/Amsterdam is CET (UTC+1) in winter and CEST (UTC+2) in summer. In 2026 summer time
starts Sunday 29 March (02:00 CET -> 03:00 CEST, at 01:00 UTC) and ends Sunday 25 October
(03:00 CEST -> 02:00 CET, at 01:00 UTC). America/New_York is EST (UTC-5) / EDT (UTC-4); in
2026 it springs forward Sunday 8 March (02:00 -> 03:00) and falls back Sunday 1 November
(02:00 -> 01:00). Expected instants around the changes are written in UTC on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.oncall.rotation import (
    FRI,
    MON,
    SUN,
    TUE,
    WEEKDAYS,
    Action,
    Layer,
    Override,
    Rotation,
    Schedule,
    Shift,
    ShiftLength,
    Window,
    complement,
    daily_windows,
    next_handoff,
    on_call,
    shifts,
)

AMS_NAME = "Europe/Amsterdam"
AMS = ZoneInfo(AMS_NAME)
NY_NAME = "America/New_York"
NY = ZoneInfo(NY_NAME)
HOUR = timedelta(hours=1)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An unambiguous Amsterdam wall-clock time (never use it inside a DST change)."""
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rotation(
    people: list[str], length: ShiftLength, start: datetime, zone: str = AMS_NAME
) -> Rotation:
    return Rotation("test", zone, people, length, start)


def alone(rot: Rotation, windows: tuple[Window, ...] = (), *overrides: Override) -> Schedule:
    """A schedule of one layer."""
    return Schedule([Layer(rot, windows)], overrides)


def lengths(found: list[Shift]) -> list[timedelta]:
    return [shift.end - shift.start for shift in found]


# --- Seed 000: business-hours layer over a 24/7 after-hours base -----------------------------

LEAD, SENIOR, ENGINEER = "dev-team-lead", "senior-developer", "on-call-engineer"
BUSINESS = daily_windows(WEEKDAYS, time(9), time(18))


def fixed(key: str, person: str) -> Rotation:
    """A rotation of one person, running from well before the tested weeks."""
    return Rotation(key, AMS_NAME, [person], ShiftLength.weekly(), datetime(2026, 1, 5))


PRIMARY = Schedule(
    [Layer(fixed("after-hours", ENGINEER)), Layer(fixed("business-hours", LEAD), BUSINESS)]
)
SECONDARY = Schedule(
    [Layer(fixed("after-hours-2", LEAD)), Layer(fixed("business-hours-2", SENIOR), BUSINESS)]
)

# Monday 12 January 2026 (CET) and Monday 6 July 2026 (CEST): office hours are local.
SEED_000_MOMENTS = [
    ((0, 10, 0), LEAD, SENIOR),  # Mon 10:00
    ((0, 9, 0), LEAD, SENIOR),  # Mon 09:00: the window includes its start
    ((0, 8, 59), ENGINEER, LEAD),  # Mon 08:59
    ((0, 20, 0), ENGINEER, LEAD),  # Mon 20:00
    ((1, 8, 59), ENGINEER, LEAD),  # Tue 08:59, end of the overnight
    ((1, 9, 0), LEAD, SENIOR),  # Tue 09:00
    ((4, 17, 59), LEAD, SENIOR),  # Fri 17:59
    ((4, 18, 0), ENGINEER, LEAD),  # Fri 18:00: the window excludes its end
    ((5, 12, 0), ENGINEER, LEAD),  # Sat noon
    ((6, 23, 59), ENGINEER, LEAD),  # Sun 23:59
]


@pytest.mark.parametrize("monday", [date(2026, 1, 12), date(2026, 7, 6)], ids=["CET", "CEST"])
@pytest.mark.parametrize(("when", "primary", "secondary"), SEED_000_MOMENTS)
def test_seed_000_who_is_on_call(
    monday: date, when: tuple[int, int, int], primary: str, secondary: str
) -> None:
    day, hour, minute = when
    moment = datetime.combine(monday + timedelta(days=day), time(hour, minute), AMS)
    assert on_call(PRIMARY, moment) == (primary,)
    assert on_call(SECONDARY, moment) == (secondary,)


def test_seed_000_office_opens_at_0900_local_in_winter_and_summer() -> None:
    assert on_call(PRIMARY, utc(2026, 1, 12, 7, 59)) == (ENGINEER,)  # 08:59 CET
    assert on_call(PRIMARY, utc(2026, 1, 12, 8, 0)) == (LEAD,)  # 09:00 CET
    assert on_call(PRIMARY, utc(2026, 7, 6, 6, 59)) == (ENGINEER,)  # 08:59 CEST
    assert on_call(PRIMARY, utc(2026, 7, 6, 7, 0)) == (LEAD,)  # 09:00 CEST


def test_seed_000_primary_week_of_shifts() -> None:
    expected = [Shift(ENGINEER, ams(2026, 1, 12), ams(2026, 1, 12, 9))]
    for day in range(12, 17):  # Monday 12 to Friday 16 January
        night_ends = ams(2026, 1, day + 1, 9) if day < 16 else ams(2026, 1, 19)
        expected += [
            Shift(LEAD, ams(2026, 1, day, 9), ams(2026, 1, day, 18)),
            Shift(ENGINEER, ams(2026, 1, day, 18), night_ends),
        ]
    found = shifts(PRIMARY, ams(2026, 1, 12), ams(2026, 1, 19))
    assert found == expected
    assert found[-1].end - found[-1].start == timedelta(days=2, hours=6)  # Fri 18:00 -> Mon
    assert all(shift.start.utcoffset() == timedelta(0) for shift in found)


def test_complement_of_office_hours_is_the_nights_and_the_weekend() -> None:
    assert complement(BUSINESS) == (
        Window(MON, time(18), TUE, time(9)),
        Window(TUE, time(18), 2, time(9)),
        Window(2, time(18), 3, time(9)),
        Window(3, time(18), FRI, time(9)),
        Window(FRI, time(18), MON, time(9)),
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [(ams(2026, 3, 23), ams(2026, 4, 6)), (ams(2026, 10, 19), ams(2026, 11, 2))],
    ids=["spring-forward", "fall-back"],
)
def test_seed_000_with_explicit_after_hours_windows_tiles_time_across_dst(
    start: datetime, end: datetime
) -> None:
    # The runbook's literal wording: after-hours restricted to nights and weekends. Window
    # edges are shared wall-clock times, so the two layers neither overlap nor leave a gap.
    literal = Schedule(
        [
            Layer(fixed("business-hours", LEAD), BUSINESS),
            Layer(fixed("after-hours", ENGINEER), complement(BUSINESS)),
        ]
    )
    found = shifts(literal, start, end)
    assert found == shifts(PRIMARY, start, end)
    assert [shift.start for shift in found[1:]] == [shift.end for shift in found[:-1]]
    assert (found[0].start, found[-1].end) == (start, end)


def test_seed_000_override_covers_the_lead_on_holiday() -> None:
    holiday = Override(ams(2026, 1, 12), ams(2026, 1, 13), "replace", SENIOR, replaces=LEAD)
    covered = Schedule(PRIMARY.layers, [holiday])
    assert on_call(covered, ams(2026, 1, 12, 10)) == (SENIOR,)
    assert on_call(covered, ams(2026, 1, 12, 20)) == (ENGINEER,)  # the lead was not on call
    assert on_call(covered, ams(2026, 1, 13, 10)) == (LEAD,)  # holiday over


# --- Seed 004: business-hours rotation vs after-hours rotation, daily handoff ----------------

BUSINESS_004 = Layer(
    rotation(["ana", "ben", "cy"], ShiftLength.daily(), datetime(2026, 3, 23, 9)),
    daily_windows(WEEKDAYS, time(9), time(17)),
)
AFTER_HOURS_004 = Layer(rotation(["dee", "eli"], ShiftLength.daily(), datetime(2026, 3, 23, 17)))
SEED_004 = Schedule([AFTER_HOURS_004, BUSINESS_004])


def test_seed_004_two_weeks_published_ahead_across_spring_forward() -> None:
    # The daily rotations keep handing off at weekends (the business turn of Saturday and
    # Sunday goes by unused), so Monday 30 March is ben's, not cy's.
    expected = [
        Shift("ana", ams(2026, 3, 23, 9), ams(2026, 3, 23, 17)),
        Shift("dee", ams(2026, 3, 23, 17), ams(2026, 3, 24, 9)),
        Shift("ben", ams(2026, 3, 24, 9), ams(2026, 3, 24, 17)),
        Shift("eli", ams(2026, 3, 24, 17), ams(2026, 3, 25, 9)),
        Shift("cy", ams(2026, 3, 25, 9), ams(2026, 3, 25, 17)),
        Shift("dee", ams(2026, 3, 25, 17), ams(2026, 3, 26, 9)),
        Shift("ana", ams(2026, 3, 26, 9), ams(2026, 3, 26, 17)),
        Shift("eli", ams(2026, 3, 26, 17), ams(2026, 3, 27, 9)),
        Shift("ben", ams(2026, 3, 27, 9), ams(2026, 3, 27, 17)),
        Shift("dee", ams(2026, 3, 27, 17), ams(2026, 3, 28, 17)),
        Shift("eli", ams(2026, 3, 28, 17), ams(2026, 3, 29, 17)),  # 23 real hours
        Shift("dee", ams(2026, 3, 29, 17), ams(2026, 3, 30, 9)),
        Shift("ben", ams(2026, 3, 30, 9), ams(2026, 3, 30, 17)),
        Shift("eli", ams(2026, 3, 30, 17), ams(2026, 3, 31, 9)),
        Shift("cy", ams(2026, 3, 31, 9), ams(2026, 3, 31, 17)),
        Shift("dee", ams(2026, 3, 31, 17), ams(2026, 4, 1, 9)),
        Shift("ana", ams(2026, 4, 1, 9), ams(2026, 4, 1, 17)),
        Shift("eli", ams(2026, 4, 1, 17), ams(2026, 4, 2, 9)),
        Shift("ben", ams(2026, 4, 2, 9), ams(2026, 4, 2, 17)),
        Shift("dee", ams(2026, 4, 2, 17), ams(2026, 4, 3, 9)),
        Shift("cy", ams(2026, 4, 3, 9), ams(2026, 4, 3, 17)),
        Shift("eli", ams(2026, 4, 3, 17), ams(2026, 4, 4, 17)),
        Shift("dee", ams(2026, 4, 4, 17), ams(2026, 4, 5, 17)),
        Shift("eli", ams(2026, 4, 5, 17), ams(2026, 4, 6, 9)),
    ]
    found = shifts(SEED_004, ams(2026, 3, 23, 9), ams(2026, 4, 6, 9))
    assert found == expected
    assert found[10].end - found[10].start == timedelta(hours=23)
    assert found[10].end == utc(2026, 3, 29, 15)  # 17:00 CEST
    assert all(shift.start.astimezone(AMS).minute == 0 for shift in found)


def test_seed_004_spot_checks_and_daily_handoff() -> None:
    assert on_call(SEED_004, ams(2026, 3, 28, 10)) == ("dee",)  # Saturday: cy's turn unused
    assert on_call(SEED_004, ams(2026, 3, 30, 16, 59)) == ("ben",)
    assert on_call(SEED_004, ams(2026, 3, 30, 17)) == ("eli",)
    business = BUSINESS_004.rotation
    assert next_handoff(business, ams(2026, 3, 27, 12)) == ams(2026, 3, 28, 9)
    assert next_handoff(business, ams(2026, 3, 28, 9)) == utc(2026, 3, 29, 7)  # 09:00 CEST


def test_shifts_agree_with_on_call_everywhere() -> None:
    start, end = ams(2026, 3, 26), ams(2026, 4, 2)
    found = shifts(SEED_004, start, end)
    moment = start
    while moment < end:
        covering = {shift.person for shift in found if shift.start <= moment < shift.end}
        assert covering == set(on_call(SEED_004, moment)), moment
        moment += timedelta(minutes=15)


# --- Daylight saving: daily and weekly hand off at the same local time -----------------------


def test_daily_0900_handoff_across_spring_forward_is_a_23_hour_shift() -> None:
    rot = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 3, 27, 9))
    schedule = alone(rot)
    assert next_handoff(rot, ams(2026, 3, 28, 9)) == utc(2026, 3, 29, 7)  # 09:00 CEST
    assert on_call(schedule, utc(2026, 3, 29, 6, 59)) == ("b",)  # 08:59 CEST
    assert on_call(schedule, utc(2026, 3, 29, 7, 30)) == ("a",)  # a 24h step would say b
    found = shifts(schedule, ams(2026, 3, 28, 9), ams(2026, 3, 30, 9))
    assert found == [
        Shift("b", utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)),
        Shift("a", utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)),
    ]
    assert lengths(found) == [timedelta(hours=23), timedelta(hours=24)]
    assert all(shift.start.astimezone(AMS).time() == time(9) for shift in found)


def test_daily_0900_handoff_across_fall_back_is_a_25_hour_shift() -> None:
    rot = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 10, 23, 9))
    schedule = alone(rot)
    assert next_handoff(rot, ams(2026, 10, 24, 9)) == utc(2026, 10, 25, 8)  # 09:00 CET
    assert on_call(schedule, utc(2026, 10, 25, 7, 30)) == ("b",)  # 08:30 CET
    assert on_call(schedule, utc(2026, 10, 25, 8)) == ("a",)
    found = shifts(schedule, ams(2026, 10, 24, 9), ams(2026, 10, 26, 9))
    assert found == [
        Shift("b", utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)),
        Shift("a", utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)),
    ]
    assert lengths(found) == [timedelta(hours=25), timedelta(hours=24)]


def test_weekly_monday_0900_rotation_across_both_changes() -> None:
    rot = rotation(["a", "b", "c"], ShiftLength.weekly(), datetime(2026, 3, 23, 9))
    schedule = alone(rot)
    spring = shifts(schedule, ams(2026, 3, 23, 9), ams(2026, 4, 6, 9))
    assert spring == [
        Shift("a", utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)),
        Shift("b", utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)),
    ]
    assert lengths(spring) == [timedelta(hours=167), timedelta(hours=168)]
    # 19 October is 30 weeks after 23 March: a's turn again (30 % 3 == 0).
    autumn = shifts(schedule, ams(2026, 10, 19, 9), ams(2026, 11, 2, 9))
    assert autumn == [
        Shift("a", utc(2026, 10, 19, 7), utc(2026, 10, 26, 8)),
        Shift("b", utc(2026, 10, 26, 8), utc(2026, 11, 2, 8)),
    ]
    assert lengths(autumn) == [timedelta(hours=169), timedelta(hours=168)]
    assert on_call(schedule, ams(2026, 10, 26, 8, 30)) == ("a",)
    assert next_handoff(rot, ams(2026, 10, 20)) == ams(2026, 10, 26, 9)


def test_handoff_at_nonexistent_0230_happens_when_the_clock_jumps_to_0300() -> None:
    # 29 March 02:30 does not exist in Amsterdam; the first instant after the gap is
    # 03:00 CEST = 01:00 UTC. The days around it hand off at 02:30 as usual.
    rot = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 3, 27, 2, 30))
    schedule = alone(rot)
    assert next_handoff(rot, utc(2026, 3, 28, 1, 30)) == utc(2026, 3, 29, 1)
    assert next_handoff(rot, utc(2026, 3, 29, 0, 59)) == utc(2026, 3, 29, 1)
    assert next_handoff(rot, utc(2026, 3, 29, 1)) == utc(2026, 3, 30, 0, 30)  # 02:30 CEST
    assert on_call(schedule, utc(2026, 3, 29, 0, 59)) == ("b",)  # 01:59 CET
    assert on_call(schedule, utc(2026, 3, 29, 1)) == ("a",)  # 03:00 CEST
    found = shifts(schedule, utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30))
    assert found == [
        Shift("b", utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1)),
        Shift("a", utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)),
    ]
    assert lengths(found) == [timedelta(hours=23, minutes=30)] * 2


def test_rotation_starting_in_the_gap_starts_after_it() -> None:
    rot = rotation(["a"], ShiftLength.daily(), datetime(2026, 3, 29, 2, 30))
    assert on_call(alone(rot), utc(2026, 3, 29, 0, 59)) == ()
    assert next_handoff(rot, utc(2026, 3, 29)) == utc(2026, 3, 29, 1)


def test_handoff_at_ambiguous_0230_uses_the_first_occurrence() -> None:
    # 25 October 02:30 happens twice: 00:30 UTC (CEST) and 01:30 UTC (CET). The handoff is
    # the first; the clock passing 02:30 again an hour later changes nothing.
    rot = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 10, 23, 2, 30))
    schedule = alone(rot)
    assert next_handoff(rot, utc(2026, 10, 24, 0, 30)) == utc(2026, 10, 25, 0, 30)
    assert next_handoff(rot, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)  # CET
    assert on_call(schedule, utc(2026, 10, 25, 0, 29)) == ("b",)
    assert on_call(schedule, utc(2026, 10, 25, 0, 30)) == ("a",)
    assert on_call(schedule, utc(2026, 10, 25, 1, 15)) == ("a",)  # 02:15 CET, second pass
    assert on_call(schedule, utc(2026, 10, 25, 1, 45)) == ("a",)  # 02:45 CET, second pass
    found = shifts(schedule, utc(2026, 10, 24, 0, 30), utc(2026, 10, 26, 1, 30))
    assert found == [
        Shift("b", utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30)),
        Shift("a", utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
    ]
    assert lengths(found) == [timedelta(hours=24), timedelta(hours=25)]


def test_hourly_rotation_counts_real_hours_across_spring_forward() -> None:
    # From 00:00 CET (23:00 UTC) to 06:00 CEST (04:00 UTC) is five real hours, not six.
    rot = rotation(["a", "b"], ShiftLength.hourly(), datetime(2026, 3, 29))
    found = shifts(alone(rot), ams(2026, 3, 29), ams(2026, 3, 29, 6))
    assert [shift.person for shift in found] == ["a", "b", "a", "b", "a"]
    assert lengths(found) == [HOUR] * 5
    assert on_call(alone(rot), ams(2026, 3, 29, 4, 30)) == ("b",)  # 3.5 real hours in


def test_hourly_rotation_counts_real_hours_across_fall_back() -> None:
    # From 00:00 CEST (22:00 UTC) to 06:00 CET (05:00 UTC) is seven real hours.
    rot = rotation(["a", "b"], ShiftLength.hourly(), datetime(2026, 10, 25))
    found = shifts(alone(rot), ams(2026, 10, 25), ams(2026, 10, 25, 6))
    assert [shift.person for shift in found] == ["a", "b", "a", "b", "a", "b", "a"]
    assert lengths(found) == [HOUR] * 7
    assert on_call(alone(rot), ams(2026, 10, 25, 4, 30)) == ("b",)  # 5.5 real hours in


def test_twelve_hour_and_custom_shifts_drift_an_hour_on_the_wall_clock() -> None:
    twelve = rotation(["a", "b"], ShiftLength.hourly(12), datetime(2026, 3, 28, 8))
    assert next_handoff(twelve, utc(2026, 3, 28, 7)) == utc(2026, 3, 28, 19)
    assert next_handoff(twelve, utc(2026, 3, 28, 19)) == ams(2026, 3, 29, 9)  # not 08:00
    day = rotation(["a", "b"], ShiftLength.custom(timedelta(days=1)), datetime(2026, 3, 28, 9))
    assert next_handoff(day, ams(2026, 3, 28, 9)) == ams(2026, 3, 29, 10)  # 24 real hours


def test_new_york_daily_handoff_across_both_changes() -> None:
    spring = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 3, 7, 9), NY_NAME)
    found = shifts(alone(spring), ny(2026, 3, 7, 9), ny(2026, 3, 9, 9))
    assert found == [
        Shift("a", utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)),  # 09:00 EST -> 09:00 EDT
        Shift("b", utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)),
    ]
    assert lengths(found) == [timedelta(hours=23), timedelta(hours=24)]
    autumn = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 10, 31, 9), NY_NAME)
    found = shifts(alone(autumn), ny(2026, 10, 31, 9), ny(2026, 11, 2, 9))
    assert found == [
        Shift("a", utc(2026, 10, 31, 13), utc(2026, 11, 1, 14)),  # 09:00 EDT -> 09:00 EST
        Shift("b", utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)),
    ]
    assert lengths(found) == [timedelta(hours=25), timedelta(hours=24)]


def test_new_york_nonexistent_and_ambiguous_handoffs() -> None:
    gap = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 3, 7, 2, 30), NY_NAME)
    assert next_handoff(gap, utc(2026, 3, 7, 7, 30)) == utc(2026, 3, 8, 7)  # 03:00 EDT
    repeated = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 10, 31, 1, 30), NY_NAME)
    assert next_handoff(repeated, utc(2026, 10, 31, 5, 30)) == utc(2026, 11, 1, 5, 30)  # EDT
    assert next_handoff(repeated, utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30)  # EST
    assert on_call(alone(repeated), utc(2026, 11, 1, 6, 15)) == ("b",)  # 01:15 EST


def test_a_whole_year_of_daily_handoffs_stays_at_0900_local() -> None:
    people = ["a", "b", "c"]
    rot = rotation(people, ShiftLength.daily(), datetime(2026, 1, 1, 9))
    schedule = alone(rot)
    handoff = ams(2026, 1, 1, 9)
    seen: list[timedelta] = []
    for index in range(1, 366):
        following = next_handoff(rot, handoff)
        assert following.astimezone(AMS).time() == time(9)
        assert on_call(schedule, following - timedelta(microseconds=1)) == (
            people[(index - 1) % 3],
        )
        assert on_call(schedule, following) == (people[index % 3],)
        seen.append(following - handoff)
        handoff = following
    assert sorted(set(seen)) == [timedelta(hours=23), timedelta(hours=24), timedelta(hours=25)]
    assert seen.count(timedelta(hours=23)) == seen.count(timedelta(hours=25)) == 1


# --- Restriction windows ---------------------------------------------------------------------


def test_window_edges_follow_the_gap_and_fold_rules() -> None:
    # Sunday 02:30 -> 04:00: on 29 March from 03:00 CEST (01:00 UTC) to 04:00 CEST; on
    # 25 October from the first 02:30 (00:30 UTC) to 04:00 CET (03:00 UTC), without
    # dropping out while the clock shows 02:00-02:30 a second time.
    night = alone(
        rotation(["a"], ShiftLength.weekly(), datetime(2026, 1, 5)),
        (Window(SUN, time(2, 30), SUN, time(4)),),
    )
    assert shifts(night, ams(2026, 3, 28), ams(2026, 3, 30)) == [
        Shift("a", utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    ]
    assert shifts(night, ams(2026, 10, 24), ams(2026, 10, 26)) == [
        Shift("a", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))
    ]


def test_overnight_and_weekend_windows() -> None:
    rot = rotation(["a"], ShiftLength.weekly(), datetime(2026, 1, 5))
    overnight = alone(rot, daily_windows([MON], time(18), time(9)))
    assert daily_windows([MON], time(18), time(9)) == (Window(MON, time(18), TUE, time(9)),)
    assert on_call(overnight, ams(2026, 1, 12, 23)) == ("a",)
    assert on_call(overnight, ams(2026, 1, 13, 8, 59)) == ("a",)
    assert on_call(overnight, ams(2026, 1, 13, 9)) == ()
    weekend = alone(rot, (Window(FRI, time(18), MON, time(9)),))
    assert on_call(weekend, ams(2026, 1, 17, 12)) == ("a",)
    assert on_call(weekend, ams(2026, 1, 19, 8, 59)) == ("a",)
    assert on_call(weekend, ams(2026, 1, 19, 9)) == ()
    assert shifts(weekend, ams(2026, 1, 12), ams(2026, 1, 26)) == [
        Shift("a", ams(2026, 1, 12), ams(2026, 1, 12, 9)),  # clipped at the range start
        Shift("a", ams(2026, 1, 16, 18), ams(2026, 1, 19, 9)),
        Shift("a", ams(2026, 1, 23, 18), ams(2026, 1, 26)),  # clipped at the range end
    ]


def test_outside_every_window_and_before_the_start_nobody_is_on_call() -> None:
    rot = rotation(["a"], ShiftLength.daily(), datetime(2026, 1, 5, 9))
    assert on_call(alone(rot, BUSINESS), ams(2026, 1, 10, 12)) == ()  # Saturday
    assert on_call(alone(rot), ams(2026, 1, 5, 8, 59)) == ()
    assert next_handoff(rot, ams(2025, 12, 1)) == ams(2026, 1, 5, 9)
    assert shifts(alone(rot), ams(2026, 1, 5), ams(2026, 1, 6)) == [
        Shift("a", ams(2026, 1, 5, 9), ams(2026, 1, 6))
    ]


# --- Overrides -------------------------------------------------------------------------------

# a on Monday 5 January from 09:00 CET (08:00 UTC), b on Tuesday 6, a on Wednesday 7.
BASE = rotation(["a", "b"], ShiftLength.daily(), datetime(2026, 1, 5, 9))


def test_replace_everyone_for_part_of_a_shift() -> None:
    cover = Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 14), "replace", "x")
    schedule = alone(BASE, (), cover)
    assert on_call(schedule, utc(2026, 1, 5, 13)) == ("x",)
    assert on_call(schedule, utc(2026, 1, 5, 14)) == ("a",)  # the end is exclusive
    assert shifts(schedule, utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)) == [
        Shift("a", utc(2026, 1, 5, 8), utc(2026, 1, 5, 12)),
        Shift("x", utc(2026, 1, 5, 12), utc(2026, 1, 5, 14)),
        Shift("a", utc(2026, 1, 5, 14), utc(2026, 1, 6, 8)),
    ]


def test_replacing_a_named_person_covers_only_their_time() -> None:
    # x stands in for a from 06:00 to 10:00 UTC Tuesday, but a hands off to b at 08:00.
    cover = Override(utc(2026, 1, 6, 6), utc(2026, 1, 6, 10), "replace", "x", replaces="a")
    schedule = alone(BASE, (), cover)
    assert shifts(schedule, utc(2026, 1, 5, 8), utc(2026, 1, 7, 8)) == [
        Shift("a", utc(2026, 1, 5, 8), utc(2026, 1, 6, 6)),
        Shift("x", utc(2026, 1, 6, 6), utc(2026, 1, 6, 8)),
        Shift("b", utc(2026, 1, 6, 8), utc(2026, 1, 7, 8)),
    ]


def test_add_puts_someone_on_call_alongside() -> None:
    shadow = Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 14), "add", "x")
    schedule = alone(BASE, (), shadow)
    assert on_call(schedule, utc(2026, 1, 5, 13)) == ("a", "x")
    assert shifts(schedule, utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)) == [
        Shift("a", utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)),  # a is not interrupted
        Shift("x", utc(2026, 1, 5, 12), utc(2026, 1, 5, 14)),
    ]


def test_remove_can_leave_nobody_on_call() -> None:
    off = Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 14), "remove", "a")
    schedule = alone(BASE, (), off)
    assert on_call(schedule, utc(2026, 1, 5, 13)) == ()
    assert shifts(schedule, utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)) == [
        Shift("a", utc(2026, 1, 5, 8), utc(2026, 1, 5, 12)),
        Shift("a", utc(2026, 1, 5, 14), utc(2026, 1, 6, 8)),
    ]
    absent = Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 14), "remove", "b")
    assert on_call(alone(BASE, (), absent), utc(2026, 1, 5, 13)) == ("a",)


def test_override_spanning_a_handoff_splits_at_both_edges() -> None:
    cover = Override(utc(2026, 1, 6, 6), utc(2026, 1, 6, 10), "replace", "x")
    schedule = alone(BASE, (), cover)
    assert shifts(schedule, utc(2026, 1, 6), utc(2026, 1, 6, 12)) == [
        Shift("a", utc(2026, 1, 6), utc(2026, 1, 6, 6)),
        Shift("x", utc(2026, 1, 6, 6), utc(2026, 1, 6, 10)),
        Shift("b", utc(2026, 1, 6, 10), utc(2026, 1, 6, 12)),
    ]


def test_replace_covers_a_gap_in_the_layers() -> None:
    restricted = Override(ams(2026, 1, 10, 10), ams(2026, 1, 10, 14), "replace", "x")
    assert on_call(alone(BASE, BUSINESS, restricted), ams(2026, 1, 10, 12)) == ("x",)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([("add", "x", None), ("remove", "x", None)], ("a",)),
        ([("remove", "a", None), ("add", "x", None)], ("x",)),
        ([("add", "x", None), ("replace", "y", None)], ("y",)),
        ([("add", "x", None), ("replace", "x", "a")], ("x",)),  # no duplicates
        ([("replace", "x", "b")], ("a",)),  # b is not on call: nothing to replace
        ([("add", "a", None)], ("a",)),
    ],
)
def test_overrides_apply_in_order(
    actions: list[tuple[Action, str, str | None]], expected: tuple[str, ...]
) -> None:
    window = (utc(2026, 1, 5, 12), utc(2026, 1, 5, 14))
    overrides = [
        Override(*window, action, person, replaces) for action, person, replaces in actions
    ]
    assert on_call(alone(BASE, (), *overrides), utc(2026, 1, 5, 13)) == expected


def test_override_instants_are_kept_in_utc() -> None:
    cover = Override(ams(2026, 1, 5, 12), ams(2026, 1, 5, 14), "replace", "x")
    assert (cover.start, cover.end) == (utc(2026, 1, 5, 11), utc(2026, 1, 5, 13))
    assert cover.start.tzinfo is UTC


# --- Shift merging ---------------------------------------------------------------------------


def test_a_single_participant_has_one_long_shift() -> None:
    rot = rotation(["solo"], ShiftLength.daily(), datetime(2026, 1, 1, 9))
    found = shifts(alone(rot), ams(2026, 3, 20), ams(2026, 4, 3))
    assert found == [Shift("solo", ams(2026, 3, 20), ams(2026, 4, 3))]


def test_same_person_twice_in_a_row_is_one_shift() -> None:
    rot = rotation(["a", "a", "b"], ShiftLength.daily(), datetime(2026, 1, 5, 9))
    assert shifts(alone(rot), ams(2026, 1, 5, 9), ams(2026, 1, 8, 9)) == [
        Shift("a", ams(2026, 1, 5, 9), ams(2026, 1, 7, 9)),
        Shift("b", ams(2026, 1, 7, 9), ams(2026, 1, 8, 9)),
    ]


def test_same_person_on_both_layers_is_one_shift() -> None:
    base = Layer(fixed("after-hours", LEAD))
    business = Layer(
        rotation([LEAD, SENIOR], ShiftLength.weekly(), datetime(2026, 1, 12, 9)), BUSINESS
    )
    schedule = Schedule([base, business])
    # Week of 12 January: the lead has both layers, so one unbroken week.
    assert shifts(schedule, ams(2026, 1, 12), ams(2026, 1, 19)) == [
        Shift(LEAD, ams(2026, 1, 12), ams(2026, 1, 19))
    ]
    # Week of 19 January: the senior takes office hours and splits it.
    week = shifts(schedule, ams(2026, 1, 19), ams(2026, 1, 26))
    assert [shift.person for shift in week] == [LEAD, SENIOR] * 5 + [LEAD]


def test_shifts_are_clipped_to_the_range() -> None:
    found = shifts(alone(BASE), utc(2026, 1, 5, 20), utc(2026, 1, 6, 10))
    assert found == [
        Shift("a", utc(2026, 1, 5, 20), utc(2026, 1, 6, 8)),
        Shift("b", utc(2026, 1, 6, 8), utc(2026, 1, 6, 10)),
    ]


# --- Far future ------------------------------------------------------------------------------


def test_ten_years_ahead_is_computed_not_walked() -> None:
    people = [f"p{n}" for n in range(7)]
    daily = alone(rotation(people, ShiftLength.daily(), datetime(2026, 1, 5, 9)))
    days = (date(2036, 3, 3) - date(2026, 1, 5)).days
    assert on_call(daily, ams(2036, 3, 3, 12)) == (people[days % 7],)
    assert on_call(daily, ams(2036, 3, 3, 8, 59)) == (people[(days - 1) % 7],)
    hourly = rotation(people[:3], ShiftLength.hourly(), datetime(2026, 1, 5))
    far = utc(2036, 7, 1, 12, 30)
    hours = (far - utc(2026, 1, 4, 23)) // HOUR
    assert on_call(alone(hourly), far) == (people[hours % 3],)
    assert next_handoff(hourly, far) == utc(2036, 7, 1, 13)
    weekly = rotation(people, ShiftLength.weekly(2), datetime(2026, 1, 5, 9))
    assert next_handoff(weekly, ams(2036, 3, 3, 12)).astimezone(AMS).time() == time(9)


# --- Validation ------------------------------------------------------------------------------


def test_rotation_validation() -> None:
    start = datetime(2026, 1, 5, 9)
    daily = ShiftLength.daily()
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        Rotation("r", "Mars/Olympus", ["a"], daily, start)
    with pytest.raises(ValueError, match="IANA"):
        Rotation("r", "", ["a"], daily, start)
    with pytest.raises(ValueError, match="at least one participant"):
        Rotation("r", AMS_NAME, [], daily, start)
    with pytest.raises(ValueError, match="not a string"):
        Rotation("r", AMS_NAME, "alice", daily, start)
    with pytest.raises(ValueError, match="non-empty id"):
        Rotation("r", AMS_NAME, ["a", " "], daily, start)
    with pytest.raises(ValueError, match="naive"):
        Rotation("r", AMS_NAME, ["a"], daily, start.replace(tzinfo=AMS))
    with pytest.raises(ValueError, match="key"):
        Rotation("", AMS_NAME, ["a"], daily, start)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ShiftLength.daily(0),
        lambda: ShiftLength.hourly(-1),
        lambda: ShiftLength.weekly(0),
        lambda: ShiftLength.custom(timedelta(0)),
        lambda: ShiftLength.custom(timedelta(hours=-1)),
    ],
)
def test_shift_length_must_be_positive(make: Callable[[], ShiftLength]) -> None:
    with pytest.raises(ValueError, match="positive"):
        make()


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="ends where it starts"):
        Window(MON, time(9), MON, time(9))
    with pytest.raises(ValueError, match=r"0 \(Monday\) to 6"):
        Window(7, time(9), MON, time(18))
    with pytest.raises(ValueError, match="unrestricted"):
        daily_windows(WEEKDAYS, time(9), time(9))
    with pytest.raises(ValueError, match="whole week"):
        complement(())
    all_week = daily_windows(range(7), time(0), time(12)) + daily_windows(
        range(7), time(12), time(0)
    )
    with pytest.raises(ValueError, match="complement is empty"):
        complement(all_week)


def test_naive_instants_are_refused() -> None:
    naive = datetime(2026, 1, 5, 12)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        on_call(PRIMARY, naive)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        shifts(PRIMARY, naive, ams(2026, 1, 6))
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        shifts(PRIMARY, ams(2026, 1, 5), naive)
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        next_handoff(BASE, naive)
    with pytest.raises(ValueError, match="override start must be timezone-aware"):
        Override(naive, ams(2026, 1, 6), "add", "x")


def test_override_and_range_validation() -> None:
    with pytest.raises(ValueError, match="must be after its start"):
        Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 12), "add", "x")
    with pytest.raises(ValueError, match="must be after its start"):
        Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 11), "add", "x")
    with pytest.raises(ValueError, match="action must be one of"):
        Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 13), "swap", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only makes sense for a replace"):
        Override(utc(2026, 1, 5, 12), utc(2026, 1, 5, 13), "add", "x", replaces="a")
    with pytest.raises(ValueError, match="must be after start"):
        shifts(PRIMARY, ams(2026, 1, 6), ams(2026, 1, 5))
    with pytest.raises(ValueError, match="at least one layer"):
        Schedule([])
