"""Property tests: random rotations across daylight-saving changes in five zones.

For random rotations (hourly, daily, weekly and custom lengths, 30 minutes on Lord Howe
among them; handoffs at any minute, often the ones DST skips or repeats), random windows
(daily hours, overnight spans, free weekly spans) and random overrides, over ranges
around a DST change of a random year, the calculator in :mod:`tocsin.oncall.rotation`
must agree with a brute-force model written here from the definitions alone:

* a wall-clock time happens at the first instant a clock in the zone shows it or later
  (so a time skipped by spring-forward happens when the clock jumps past it, and a
  repeated one at its first occurrence);
* shift ``k`` of a daily/weekly rotation starts at ``start + k * step`` read on the wall
  clock, of an hourly/custom one ``k * step`` of real time after the start;
* a restricted layer is on call where its turn and one of its windows overlap; the
  highest layer with someone on call wins; overrides apply in order.

On top of that the properties the issue names are asserted directly: coverage is complete
where the windows say, never doubled, handoffs stay at their local time, elapsed shifts
keep their real length, and turns are fair (the same number each, +-1, in any stretch of
turns; exactly the same in whole cycles).

The zones' DST changes happen on the quarter hour, which the model's search for the end of
a skipped stretch relies on; handoffs, windows and shift lengths are any whole minute.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.oncall import rotation as r

ZONES = ("Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
QUARTER = timedelta(minutes=15)
TICK = timedelta(microseconds=1)
MAX_TURNS = 160

SETTINGS = settings(
    max_examples=int(os.environ.get("TOCSIN_PROPERTY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

Interval = tuple[datetime, datetime]
Piece = tuple[datetime, datetime, str]

# --- The model -------------------------------------------------------------------------------


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which a clock in ``zone`` shows ``wall`` or later."""
    exact = [
        moment
        for fold in (0, 1)
        if local(moment := wall.replace(tzinfo=zone, fold=fold).astimezone(UTC), zone) == wall
    ]
    if exact:
        return min(exact)
    # Skipped by spring-forward: walk the quarter hours up to the jump.
    moment = (wall - timedelta(hours=16)).replace(tzinfo=UTC)
    moment -= timedelta(minutes=moment.minute % 15, seconds=moment.second)
    while local(moment, zone) < wall:
        moment += QUARTER
    return moment


@dataclass(frozen=True)
class DailyHours:
    """``days`` from ``begin`` to ``end`` (the next day when ``end <= begin``)."""

    days: tuple[int, ...]
    begin: time
    end: time

    def windows(self) -> tuple[r.Window, ...]:
        return r.daily_windows(self.days, self.begin, self.end)

    def walls(self, first: date, last: date) -> Iterable[tuple[datetime, datetime]]:
        day = first
        while day <= last:
            if day.weekday() in self.days:
                overnight = timedelta(days=1 if self.end <= self.begin else 0)
                yield datetime.combine(day, self.begin), datetime.combine(day + overnight, self.end)
            day += timedelta(days=1)


@dataclass(frozen=True)
class WeeklySpan:
    """From one weekday and time to another (wrapping over Sunday night)."""

    start_day: int
    begin: time
    end_day: int
    end: time

    def windows(self) -> tuple[r.Window, ...]:
        return (r.Window(self.start_day, self.begin, self.end_day, self.end),)

    def walls(self, first: date, last: date) -> Iterable[tuple[datetime, datetime]]:
        minutes = (self.end_day * 1440 + self.end.hour * 60 + self.end.minute) - (
            self.start_day * 1440 + self.begin.hour * 60 + self.begin.minute
        )
        length = timedelta(minutes=minutes % (7 * 1440))
        day = first - timedelta(days=8)
        while day <= last:
            if day.weekday() == self.start_day:
                begin = datetime.combine(day, self.begin)
                yield begin, begin + length
            day += timedelta(days=1)


WindowSpec = DailyHours | WeeklySpan


@dataclass(frozen=True)
class LayerSpec:
    zone: str
    people: tuple[str, ...]
    length: r.ShiftLength
    start: datetime  # local wall-clock time of the first handoff
    windows: tuple[WindowSpec, ...] = ()

    def layer(self) -> r.Layer:
        rot = r.Rotation("prop", self.zone, self.people, self.length, self.start)
        return r.Layer(rot, tuple(w for spec in self.windows for w in spec.windows()))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


def handoff(spec: LayerSpec, index: int) -> datetime:
    step = spec.length.step
    if spec.length.kind in ("daily", "weekly"):
        return first_instant(spec.start + index * step, spec.tz)
    return first_instant(spec.start, spec.tz) + index * step


def turns(spec: LayerSpec, low: datetime, high: datetime) -> list[Piece]:
    """The rotation's turns overlapping [low, high), clipped, with who has them."""
    step = spec.length.step
    if spec.length.kind in ("daily", "weekly"):
        index = (local(low, spec.tz) - spec.start) // step - 2
    else:
        index = (low - first_instant(spec.start, spec.tz)) // step - 2
    index = max(index, 0)
    while handoff(spec, index + 1) <= low:
        index += 1
    found = []
    while (begin := handoff(spec, index)) < high:
        end = handoff(spec, index + 1)
        if end > low:
            person = spec.people[index % len(spec.people)]
            found.append((max(begin, low), min(end, high), person))
        index += 1
    return found


def union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for begin, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return [(begin, end) for begin, end in merged]


def clip(intervals: Iterable[Interval], low: datetime, high: datetime) -> list[Interval]:
    return union((max(b, low), min(e, high)) for b, e in intervals if b < high and e > low)


def window_cover(spec: LayerSpec, low: datetime, high: datetime) -> list[Interval]:
    """Where the layer's windows are open within [low, high)."""
    first = local(low, spec.tz).date() - timedelta(days=2)
    last = local(high, spec.tz).date() + timedelta(days=1)
    spans = [
        (first_instant(a, spec.tz), first_instant(b, spec.tz))
        for window in spec.windows
        for a, b in window.walls(first, last)
    ]
    return clip(spans, low, high)


def layer_pieces(spec: LayerSpec, low: datetime, high: datetime) -> list[Piece]:
    """Who the layer has on call, piece by piece (a turn cut by the windows)."""
    own = turns(spec, low, high)
    if not spec.windows:
        return own
    pieces = []
    for begin, end in window_cover(spec, low, high):
        for t_begin, t_end, person in own:
            if t_begin < end and t_end > begin:
                pieces.append((max(begin, t_begin), min(end, t_end), person))
    return pieces


@dataclass(frozen=True)
class OverrideSpec:
    start: datetime
    end: datetime
    action: r.Action
    person: str
    replaces: str | None = None

    def override(self) -> r.Override:
        return r.Override(self.start, self.end, self.action, self.person, self.replaces)

    def apply(self, people: list[str]) -> list[str]:
        if self.action == "add":
            return people if self.person in people else [*people, self.person]
        if self.action == "remove":
            return [p for p in people if p != self.person]
        if self.replaces is None:
            return [self.person]
        if self.replaces not in people:
            return people
        swapped = [self.person if p == self.replaces else p for p in people]
        return [p for i, p in enumerate(swapped) if p not in swapped[:i]]


def model_shifts(
    layers: Sequence[LayerSpec],
    overrides: Sequence[OverrideSpec],
    low: datetime,
    high: datetime,
) -> list[r.Shift]:
    """Maximal per-person intervals, from the layers' pieces and the overrides."""
    per_layer = [sorted(layer_pieces(spec, low, high)) for spec in layers]
    edges = {low, high}
    for pieces in per_layer:
        edges.update(e for begin, end, _ in pieces for e in (begin, end))
    edges.update(e for o in overrides for e in (o.start, o.end) if low < e < high)
    points = sorted(edges)

    def layer_person(pieces: list[Piece], at: datetime) -> str | None:
        i = bisect.bisect_right(pieces, (at, datetime.max.replace(tzinfo=UTC), "~")) - 1
        if i >= 0 and pieces[i][0] <= at < pieces[i][1]:
            return pieces[i][2]
        return None

    found: list[r.Shift] = []
    running: dict[str, datetime] = {}
    for begin in points[:-1]:
        people: list[str] = []
        for pieces in reversed(per_layer):
            person = layer_person(pieces, begin)
            if person is not None:
                people = [person]
                break
        for o in overrides:
            if o.start <= begin < o.end:
                people = o.apply(people)
        for person in [p for p in running if p not in people]:
            found.append(r.Shift(person, running.pop(person), begin))
        for person in people:
            running.setdefault(person, begin)
    found += [r.Shift(person, began, high) for person, began in running.items()]
    return found


def ordered(found: Iterable[r.Shift]) -> list[r.Shift]:
    return sorted(found, key=lambda s: (s.start, s.person, s.end))


def covered(found: Iterable[r.Shift]) -> list[Interval]:
    return union((s.start, s.end) for s in found)


# --- Strategies ------------------------------------------------------------------------------


@cache
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """The zone's offset changes in ``year`` (quarter-hour exact)."""
    tz = ZoneInfo(zone)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        following = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            moment = day
            while moment.astimezone(tz).utcoffset() == day.astimezone(tz).utcoffset():
                moment += QUARTER
            found.append(moment)
        day = following
    return tuple(found)


@dataclass(frozen=True)
class Range:
    zone: str
    low: datetime
    high: datetime
    #: The DST change (or, without DST, the random instant) the range is built around.
    pivot: datetime


@st.composite
def ranges(draw: st.DrawFn, zone: str, step: timedelta) -> Range:
    """A range around one of the zone's DST changes of a random year (any range in zones
    without DST), short enough for ``MAX_TURNS`` turns."""
    year = draw(st.integers(2000, 2037))
    changes = transitions(zone, year)
    reach = max(QUARTER, min(timedelta(days=30), MAX_TURNS * step / 2))
    quarters = reach // QUARTER
    if changes:
        pivot = draw(st.sampled_from(changes))
    else:
        pivot = datetime(year, 1, 1, tzinfo=UTC) + draw(st.integers(0, 364 * 96)) * QUARTER
    before = draw(st.integers(0, quarters)) * QUARTER
    after = draw(st.integers(1, quarters)) * QUARTER
    return Range(zone, pivot - before, pivot + after, pivot)


def pivot_times(span: Range) -> tuple[time, ...]:
    """The wall-clock times the range's DST change skips or repeats, and the end of that."""
    tz = ZoneInfo(span.zone)
    before, after = local(span.pivot - TICK, tz) + TICK, local(span.pivot, tz)
    if before == after:
        return ()
    found, wall = [], min(before, after)
    while wall <= max(before, after):
        found.append(wall.time())
        wall += QUARTER
    return tuple(found)


def clock_times(span: Range) -> st.SearchStrategy[time]:
    """Times of day, half of the time one the range's DST change skips or repeats."""
    common = (time(0), time(9), time(17), time(18), time(23, 45))
    anything = st.builds(
        time, st.integers(0, 23), st.one_of(st.sampled_from([0, 15, 30, 45]), st.integers(0, 59))
    )
    return st.one_of(
        st.sampled_from(pivot_times(span) or common),
        st.one_of(st.sampled_from(common), anything),
    )


#: Zones with DST more often than the two without.
zones = st.one_of(st.sampled_from(ZONES[:3]), st.sampled_from(ZONES))

PEOPLE = ["ana", "ben", "cy", "dee", "eli", "fay", "gus"]


def names(min_size: int = 1) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(PEOPLE), min_size=min_size, max_size=5, unique=True).map(tuple)


LENGTHS: dict[str, st.SearchStrategy[r.ShiftLength]] = {
    "hourly": st.builds(r.ShiftLength.hourly, st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24])),
    "daily": st.builds(r.ShiftLength.daily, st.integers(1, 3)),
    "weekly": st.builds(r.ShiftLength.weekly, st.integers(1, 2)),
    "custom": st.builds(
        r.ShiftLength.custom,
        st.one_of(
            st.sampled_from([timedelta(minutes=30), timedelta(hours=12), timedelta(hours=36)]),
            st.integers(1, 4 * 24 * 3).map(lambda n: n * QUARTER),
            st.integers(7, 3 * 24 * 60).map(lambda n: n * timedelta(minutes=1)),
        ),
    ),
}


def _later(begin: time, quarters: int) -> time:
    """``begin`` plus some quarter hours, modulo a day."""
    minutes = (begin.hour * 60 + begin.minute + 15 * quarters) % 1440
    return time(minutes // 60, minutes % 60)


@st.composite
def daily_hours(draw: st.DrawFn, span: Range) -> DailyHours:
    """Hours on some days; an end at or before the start runs overnight."""
    days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    begin, end = draw(clock_times(span)), draw(clock_times(span))
    if end == begin:
        end = _later(begin, draw(st.integers(1, 95)))
    return DailyHours(tuple(sorted(days)), begin, end)


@st.composite
def weekly_spans(draw: st.DrawFn, span: Range) -> WeeklySpan:
    """A span such as Fri 18:00 -> Mon 09:00, often from or to the DST change's weekday."""
    pivot_day = local(span.pivot, ZoneInfo(span.zone)).weekday()
    day = st.one_of(st.just(pivot_day), st.integers(0, 6))
    found = WeeklySpan(draw(day), draw(clock_times(span)), draw(day), draw(clock_times(span)))
    if (found.start_day, found.begin) == (found.end_day, found.end):
        found = WeeklySpan(found.start_day, found.begin, found.end_day, _later(found.end, 1))
    return found


def window_lists(
    span: Range, min_size: int = 0, max_size: int = 2
) -> st.SearchStrategy[tuple[WindowSpec, ...]]:
    one: st.SearchStrategy[WindowSpec] = st.one_of(daily_hours(span), weekly_spans(span))
    return st.lists(one, min_size=min_size, max_size=max_size).map(tuple)


@st.composite
def layer_specs(
    draw: st.DrawFn,
    span: Range,
    *,
    length: r.ShiftLength | None = None,
    people: tuple[str, ...] | None = None,
    windows: tuple[WindowSpec, ...] | None = None,
) -> LayerSpec:
    """A rotation starting up to 400 days before the range, often so that a handoff falls
    on the day of the DST change."""
    tz = ZoneInfo(span.zone)
    length = length if length is not None else draw(st.one_of(*LENGTHS.values()))
    pivot_day = local(span.pivot, tz).date()
    cycle = max(1, length.step.days) if length.wall_clock else 7
    day = draw(
        st.one_of(
            st.integers(0, 400 // cycle).map(lambda n: pivot_day - timedelta(days=n * cycle)),
            st.integers(-400, 3).map(lambda n: local(span.low, tz).date() + timedelta(n)),
        )
    )
    return LayerSpec(
        zone=span.zone,
        people=people if people is not None else draw(names()),
        length=length,
        start=datetime.combine(day, draw(clock_times(span))),
        windows=windows if windows is not None else draw(window_lists(span)),
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    kinds: Sequence[str] = ("hourly", "daily", "weekly", "custom"),
    windows: bool = True,
    min_people: int = 1,
) -> tuple[LayerSpec, Range]:
    """One layer and a range that crosses a DST change in the layer's zone."""
    zone = draw(zones)
    length = draw(st.one_of(*(LENGTHS[kind] for kind in kinds)))
    if zone == "Australia/Lord_Howe" and length.kind == "custom" and draw(st.booleans()):
        length = r.ShiftLength.custom(timedelta(minutes=30))  # the size of its DST change
    span = draw(ranges(zone, length.step))
    spec = draw(
        layer_specs(
            span, length=length, people=draw(names(min_people)), windows=None if windows else ()
        )
    )
    return spec, span


def assert_never_doubled(found: Sequence[r.Shift]) -> None:
    by_start = sorted(found, key=lambda s: s.start)
    for before, after in itertools.pairwise(by_start):
        assert before.end <= after.start, (before, after)


# --- Properties ------------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_one_layer_agrees_with_the_model(case: tuple[LayerSpec, Range]) -> None:
    spec, span = case
    schedule = r.Schedule([spec.layer()])
    found = r.shifts(schedule, span.low, span.high)
    assert ordered(found) == ordered(model_shifts([spec], [], span.low, span.high))
    assert found == sorted(found, key=lambda s: s.start)
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in found)
    assert all(span.low <= s.start < s.end <= span.high for s in found)


@SETTINGS
@given(scenarios())
def test_coverage_is_complete_where_the_windows_say_and_never_doubled(
    case: tuple[LayerSpec, Range],
) -> None:
    spec, span = case
    found = r.shifts(r.Schedule([spec.layer()]), span.low, span.high)
    began = max(span.low, handoff(spec, 0))
    if began >= span.high:
        assert found == []
        return
    expected = window_cover(spec, began, span.high) if spec.windows else [(began, span.high)]
    assert covered(found) == expected
    assert_never_doubled(found)
    # The same answer instant by instant, at every edge and just before it.
    for shift in found[:50]:
        for moment in (shift.start, shift.end - TICK):
            assert r.on_call(r.Schedule([spec.layer()]), moment) == (shift.person,)


@SETTINGS
@given(scenarios(kinds=("daily", "weekly"), windows=False, min_people=2))
def test_wall_clock_handoffs_stay_at_their_local_time(case: tuple[LayerSpec, Range]) -> None:
    spec, span = case
    found = r.shifts(r.Schedule([spec.layer()]), span.low, span.high)
    tz, at = spec.tz, spec.start.time()
    for before, after in itertools.pairwise(found):
        assert before.end == after.start  # no gap, no overlap
        moment = after.start
        wall = datetime.combine(local(moment, tz).date(), at)
        if local(first_instant(wall, tz), tz) == wall:
            assert local(moment, tz).time() == at, (moment, local(moment, tz))
        else:  # the handoff time does not exist that day: it happens when the clock jumps
            assert moment == first_instant(wall, tz)
            assert local(moment - TICK, tz) < wall < local(moment, tz)
    for shift in found[1:-1]:  # whole shifts: the wall-clock step, DST moving it at most 1h
        assert abs(shift.end - shift.start - spec.length.step) <= timedelta(hours=1)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(2000, 2036),
    st.sampled_from(["daily", "weekly"]),
    names(min_size=2),
)
def test_a_0900_handoff_is_0900_all_year(
    zone: str, year: int, kind: str, people: tuple[str, ...]
) -> None:
    length = r.ShiftLength.daily() if kind == "daily" else r.ShiftLength.weekly()
    spec = LayerSpec(zone, people, length, datetime(year, 1, 1, 9))
    tz = spec.tz
    low, high = (
        first_instant(datetime(year, 1, 1, 9), tz),
        first_instant(datetime(year + 1, 1, 1, 9), tz),
    )
    found = r.shifts(r.Schedule([spec.layer()]), low, high)
    assert [local(s.start, tz).time() for s in found] == [time(9)] * len(found)
    assert found[-1].end == high
    assert len(found) == (365 + (year % 4 == 0) if kind == "daily" else 53)
    seen = Counter(s.end - s.start for s in found[:-1])
    step = length.step
    offsets = {s.start.astimezone(tz).utcoffset() for s in found}
    assert set(seen) <= {step + (a - b) for a in offsets for b in offsets}


@SETTINGS
@given(scenarios(kinds=("hourly", "custom"), windows=False))
def test_elapsed_shifts_keep_their_real_length(case: tuple[LayerSpec, Range]) -> None:
    spec, span = case
    found = r.shifts(r.Schedule([spec.layer()]), span.low, span.high)
    if len(spec.people) == 1:
        assert len(found) <= 1
        return
    for shift in found[1:-1]:
        assert shift.end - shift.start == spec.length.step
    for before, after in itertools.pairwise(found):
        assert before.end == after.start
        assert (after.start - first_instant(spec.start, spec.tz)) % spec.length.step == timedelta(0)


@SETTINGS
@given(scenarios(windows=False, min_people=2))
def test_turns_are_fair_and_nobody_is_skipped(case: tuple[LayerSpec, Range]) -> None:
    spec, span = case
    found = r.shifts(r.Schedule([spec.layer()]), span.low, span.high)
    people, n = spec.people, len(spec.people)
    order = [s.person for s in found]
    for before, after in itertools.pairwise(order):
        assert people.index(after) == (people.index(before) + 1) % n  # nobody skipped
    for size in range(1, len(order) + 1):
        for first in range(0, len(order) - size + 1, max(1, size // 3)):
            counts = Counter(order[first : first + size])
            tally = [counts[p] for p in people]
            assert max(tally) - min(tally) <= 1, (size, tally)  # any stretch: +-1
            if size % n == 0:
                assert tally == [size // n] * n  # whole cycles: exactly the same


@SETTINGS
@given(scenarios(min_people=2), st.data())
def test_restrictions_do_not_reorder_the_turns(
    case: tuple[LayerSpec, Range], data: st.DataObject
) -> None:
    spec, span = case
    restricted = r.Schedule([spec.layer()])
    free = r.Schedule([r.Layer(spec.layer().rotation)])
    for shift in r.shifts(restricted, span.low, span.high)[:60]:
        for moment in (shift.start, shift.end - TICK):
            assert r.on_call(free, moment) == (shift.person,)


@st.composite
def two_layers(draw: st.DrawFn) -> tuple[LayerSpec, LayerSpec, Range]:
    """An all-week after-hours rotation under a business-hours rotation (seeds 000, 004)."""
    base, span = draw(scenarios(windows=False))
    top_people = draw(
        st.lists(st.sampled_from(["tom", "una", "vic", "wes"]), min_size=1, max_size=3, unique=True)
    )
    top = draw(
        layer_specs(span, people=tuple(top_people), windows=draw(window_lists(span, min_size=1)))
    )
    return base, top, span


@SETTINGS
@given(two_layers())
def test_a_higher_layer_wins_inside_its_windows(case: tuple[LayerSpec, LayerSpec, Range]) -> None:
    base, top, span = case
    schedule = r.Schedule([base.layer(), top.layer()])
    found = r.shifts(schedule, span.low, span.high)
    assert ordered(found) == ordered(model_shifts([base, top], [], span.low, span.high))
    assert_never_doubled(found)
    began = max(span.low, min(handoff(base, 0), span.high))
    assert covered(found) == clip(
        [(began, span.high), *((b, e) for b, e, _ in layer_pieces(top, span.low, span.high))],
        span.low,
        span.high,
    )
    top_time = window_cover(top, max(span.low, handoff(top, 0)), span.high)
    for shift in found:
        inside = any(b <= shift.start < e for b, e in top_time)
        assert (shift.person in top.people) == inside, shift


@SETTINGS
@given(zones, st.data())
def test_windows_and_their_complement_tile_time(zone: str, data: st.DataObject) -> None:
    span = data.draw(ranges(zone, timedelta(days=1)))
    specs = data.draw(window_lists(span, min_size=1, max_size=3))
    inside = tuple(w for spec in specs for w in spec.windows())
    try:
        outside = r.complement(inside)
    except ValueError:  # the windows cover the whole week
        return
    start = datetime(1999, 1, 4)
    schedule = r.Schedule(
        [
            r.Layer(r.Rotation("in", zone, ["in"], r.ShiftLength.weekly(), start), inside),
            r.Layer(r.Rotation("out", zone, ["out"], r.ShiftLength.weekly(), start), outside),
        ]
    )
    found = r.shifts(schedule, span.low, span.high)
    assert [s.start for s in found[1:]] == [s.end for s in found[:-1]]  # no gap, no overlap
    assert (found[0].start, found[-1].end) == (span.low, span.high)
    assert all(a.person != b.person for a, b in itertools.pairwise(found))
    spec = LayerSpec(zone, ("in",), r.ShiftLength.weekly(), start, tuple(specs))
    assert [(s.start, s.end) for s in found if s.person == "in"] == window_cover(
        spec, span.low, span.high
    )


@st.composite
def with_overrides(draw: st.DrawFn) -> tuple[LayerSpec, list[OverrideSpec], Range]:
    spec, span = draw(scenarios())
    quarters = (span.high - span.low) // QUARTER
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        a = draw(st.integers(-4, quarters + 4))
        b = draw(st.integers(a + 1, quarters + 8))
        action = draw(st.sampled_from(["replace", "add", "remove"]))
        person = draw(st.sampled_from([*spec.people, "sub", "sam"]))
        replaces = draw(st.sampled_from([None, *spec.people])) if action == "replace" else None
        overrides.append(
            OverrideSpec(span.low + a * QUARTER, span.low + b * QUARTER, action, person, replaces)
        )
    return spec, overrides, span


@SETTINGS
@given(with_overrides())
def test_overrides_agree_with_the_model(case: tuple[LayerSpec, list[OverrideSpec], Range]) -> None:
    spec, overrides, span = case
    schedule = r.Schedule([spec.layer()], [o.override() for o in overrides])
    found = r.shifts(schedule, span.low, span.high)
    assert ordered(found) == ordered(model_shifts([spec], overrides, span.low, span.high))
    for shift in found[:40]:
        assert shift.person in r.on_call(schedule, shift.start)
        assert shift.person in r.on_call(schedule, shift.end - TICK)
    if not any(o.action == "add" for o in overrides):
        assert_never_doubled(found)
