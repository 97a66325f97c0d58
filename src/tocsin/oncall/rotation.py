"""On-call rotations, layered schedules and overrides: who is on call, and when.

Pure functions over frozen dataclasses: no I/O, no clock. The caller passes the instant.

Daylight saving is where schedules usually break, so the rules are explicit:

* Daily and weekly shifts hand off at the same *local* wall-clock time in the rotation's
  IANA zone: a daily shift across the spring-forward night lasts 23 real hours, across
  the fall-back night 25. Hourly and custom shifts count real elapsed time.
* A wall-clock time skipped by spring-forward happens at the first instant after the gap
  (02:30 on a night the clock jumps 02:00 -> 03:00 means 03:00). A time that occurs twice
  at fall-back means its first occurrence (``fold=0``).
* Restriction windows use the same rule for their edges, so a window and its complement
  tile time exactly, with no gap and no overlap, on every day of the year.

Everything returned is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import IntEnum
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LengthKind = Literal["hourly", "daily", "weekly", "custom"]
Action = Literal["replace", "add", "remove"]

DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
_SECOND = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Weekday(IntEnum):
    """Days as ``datetime.weekday()`` numbers them: Monday is 0."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


MON = Weekday.MON
TUE = Weekday.TUE
WED = Weekday.WED
THU = Weekday.THU
FRI = Weekday.FRI
SAT = Weekday.SAT
SUN = Weekday.SUN
WEEKDAYS: tuple[Weekday, ...] = (MON, TUE, WED, THU, FRI)
WEEKEND: tuple[Weekday, ...] = (SAT, SUN)


# --- Time zones ------------------------------------------------------------------------------


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a ValueError that says which name is wrong."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"time zone must be an IANA name such as 'Europe/Amsterdam', not {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Amsterdam'"
        ) from exc


def local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the naive local wall-clock time ``wall`` happens in ``zone``.

    A time skipped by spring-forward happens at the first instant after the gap: that is
    when the clock first shows a time at or past it. A repeated time (fall-back) happens at
    its first occurrence. Both rules keep the mapping monotonic, so intervals built from
    wall-clock edges never overlap or leave holes.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the spring-forward gap that swallows ``wall``.

    Read with the offset after the gap ``wall`` lands before the transition, read with the
    offset before it lands after; the transition (whole seconds in tzdata) lies between, so
    a binary search over seconds finds it without knowing the zone's rules.
    """
    early = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    target = late.astimezone(zone).utcoffset()
    low = (early - _EPOCH) // _SECOND
    high = -((_EPOCH - late) // _SECOND)  # ceiling
    while high - low > 1:
        middle = (low + high) // 2
        if (_EPOCH + middle * _SECOND).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return _EPOCH + high * _SECOND


def _as_utc(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC; a naive datetime is refused because its instant is unknowable."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {moment.isoformat()})")
    return moment.astimezone(UTC)


def _time_of_day(moment: time) -> timedelta:
    return timedelta(
        hours=moment.hour,
        minutes=moment.minute,
        seconds=moment.second,
        microseconds=moment.microsecond,
    )


# --- Rotations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftLength:
    """How long one participant's turn lasts; build it with the class methods.

    ``daily`` and ``weekly`` are wall-clock lengths (the handoff stays at the same local
    time through daylight-saving changes); ``hourly`` and ``custom`` are real elapsed time.
    """

    kind: LengthKind
    count: int = 1
    duration: timedelta | None = None

    def __post_init__(self) -> None:
        if self.kind not in get_args(LengthKind):
            raise ValueError(
                f"shift length kind must be one of {get_args(LengthKind)}, not {self.kind!r}"
            )
        if self.kind == "custom":
            if self.duration is None or self.duration <= timedelta(0):
                raise ValueError(f"a custom shift length must be positive, not {self.duration}")
            return
        if self.duration is not None:
            raise ValueError(f"a {self.kind} shift length takes a count, not a duration")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(
                f"a {self.kind} shift length must be a positive whole number, not {self.count!r}"
            )

    @classmethod
    def hourly(cls, hours: int = 1) -> ShiftLength:
        return cls("hourly", hours)

    @classmethod
    def daily(cls, days: int = 1) -> ShiftLength:
        return cls("daily", days)

    @classmethod
    def weekly(cls, weeks: int = 1) -> ShiftLength:
        return cls("weekly", weeks)

    @classmethod
    def custom(cls, duration: timedelta) -> ShiftLength:
        return cls("custom", 1, duration)

    @property
    def wall_clock(self) -> bool:
        """True when handoffs follow the local calendar rather than elapsed time."""
        return self.kind in ("daily", "weekly")

    @property
    def step(self) -> timedelta:
        """One shift: calendar days for wall-clock kinds, real time for the others."""
        if self.duration is not None:
            return self.duration
        unit = {"hourly": timedelta(hours=1), "daily": DAY, "weekly": WEEK}[self.kind]
        return self.count * unit


@dataclass(frozen=True)
class Rotation:
    """Participants taking turns, in order, starting at ``start``.

    ``start`` is the naive local wall-clock time of the first handoff in ``zone``, when
    ``participants[0]`` goes on call; before it the rotation has nobody on call. A local
    time keeps "every Monday 09:00" meaning 09:00 in summer and in winter.
    """

    key: str
    zone: str
    participants: Sequence[str]
    length: ShiftLength
    start: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError("a rotation needs a non-empty key")
        zone_named(self.zone)
        if isinstance(self.participants, str):
            raise ValueError(f"rotation {self.key!r}: participants must be a list, not a string")
        people = tuple(self.participants)
        if not people:
            raise ValueError(f"rotation {self.key!r} needs at least one participant")
        if any(not isinstance(person, str) or not person.strip() for person in people):
            raise ValueError(f"rotation {self.key!r}: every participant must be a non-empty id")
        object.__setattr__(self, "participants", people)
        if self.start.tzinfo is not None:
            raise ValueError(
                f"rotation {self.key!r}: start is a local wall-clock time in {self.zone}; "
                "pass a naive datetime"
            )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


def _handoff(rotation: Rotation, index: int) -> datetime:
    """The instant shift number ``index`` begins (shift 0 begins at ``rotation.start``)."""
    step = rotation.length.step
    if rotation.length.wall_clock:
        return local_to_utc(rotation.start + index * step, rotation.tz)
    return local_to_utc(rotation.start, rotation.tz) + index * step


def _shift_index(rotation: Rotation, at: datetime) -> int:
    """Number of the shift running at ``at`` (negative before the start), in O(1).

    Elapsed kinds divide real time. Wall-clock kinds divide local calendar time, which is
    exact except within a few hours of a DST change; one step either way fixes that.
    """
    step = rotation.length.step
    if not rotation.length.wall_clock:
        return (at - local_to_utc(rotation.start, rotation.tz)) // step
    local = at.astimezone(rotation.tz).replace(tzinfo=None)
    index = (local - rotation.start) // step
    while _handoff(rotation, index + 1) <= at:
        index += 1
    while _handoff(rotation, index) > at:
        index -= 1
    return index


def _rotation_person(rotation: Rotation, at: datetime) -> str | None:
    index = _shift_index(rotation, at)
    if index < 0:
        return None
    return rotation.participants[index % len(rotation.participants)]


def next_handoff(rotation: Rotation, after: datetime) -> datetime:
    """The first handoff strictly after ``after`` (the rotation's start if that is later)."""
    moment = _as_utc(after, "after")
    return _handoff(rotation, max(_shift_index(rotation, moment), -1) + 1)


def _handoffs(rotation: Rotation, low: datetime, high: datetime) -> Iterator[datetime]:
    """Handoff instants strictly inside (low, high)."""
    index = max(_shift_index(rotation, low), -1) + 1
    while (moment := _handoff(rotation, index)) < high:
        yield moment
        index += 1


# --- Weekly windows --------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A weekly stretch of local wall-clock time, e.g. Mon 09:00 -> Mon 18:00.

    The end may be on a later day (Mon 18:00 -> Tue 09:00) or wrap over the week's end
    (Fri 18:00 -> Mon 09:00). Days are numbered like ``datetime.weekday()``.
    """

    start_day: int
    start_time: time
    end_day: int
    end_time: time

    def __post_init__(self) -> None:
        for day in (self.start_day, self.end_day):
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"a window day must be 0 (Monday) to 6 (Sunday), not {day!r}")
        if self.start_time.tzinfo is not None or self.end_time.tzinfo is not None:
            raise ValueError("window times are local wall-clock times; pass naive times")
        if self.length == timedelta(0):
            raise ValueError(
                f"window ends where it starts ({self}); "
                "for round-the-clock cover leave the layer unrestricted"
            )

    def __str__(self) -> str:
        start = f"{Weekday(self.start_day).name.title()} {self.start_time:%H:%M}"
        return f"{start} -> {Weekday(self.end_day).name.title()} {self.end_time:%H:%M}"

    @property
    def start_offset(self) -> timedelta:
        """Position of the start in the week, from Monday 00:00."""
        return self.start_day * DAY + _time_of_day(self.start_time)

    @property
    def length(self) -> timedelta:
        """Wall-clock length, less than a week."""
        end = self.end_day * DAY + _time_of_day(self.end_time)
        return (end - self.start_offset) % WEEK


def _occurrences(
    window: Window, zone: ZoneInfo, low: datetime, high: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The window's weekly UTC intervals that overlap [low, high)."""
    day = low.astimezone(zone).date() - timedelta(days=8)
    day += timedelta(days=(window.start_day - day.weekday()) % 7)
    last = high.astimezone(zone).date() + DAY
    while day <= last:
        wall = datetime.combine(day, window.start_time)
        begin, finish = local_to_utc(wall, zone), local_to_utc(wall + window.length, zone)
        if begin < high and finish > low and begin < finish:
            yield begin, finish
        day += WEEK


def daily_windows(days: Iterable[int], start: time, end: time) -> tuple[Window, ...]:
    """The same hours on each of ``days``: ``daily_windows(WEEKDAYS, 9:00, 18:00)``.

    An ``end`` before ``start`` runs overnight into the next day (18:00 -> 09:00).
    """
    if start == end:
        raise ValueError(
            f"daily window {start:%H:%M} -> {end:%H:%M} is empty or all day; "
            "for round-the-clock cover leave the layer unrestricted"
        )
    overnight = 1 if end < start else 0
    return tuple(Window(day, start, (day + overnight) % 7, end) for day in days)


def complement(windows: Iterable[Window]) -> tuple[Window, ...]:
    """The rest of the week: ``complement(daily_windows(WEEKDAYS, 9:00, 18:00))`` is the
    four weekday nights plus Fri 18:00 -> Mon 09:00.

    Edges are shared wall-clock times, so a layer restricted to ``windows`` and one
    restricted to the complement never overlap and never leave a gap, DST included.
    """
    spans: list[tuple[timedelta, timedelta]] = []
    for window in windows:
        begin, finish = window.start_offset, window.start_offset + window.length
        spans += [(begin, min(finish, WEEK))] + (
            [(timedelta(0), finish - WEEK)] if finish > WEEK else []
        )
    if not spans:
        raise ValueError(
            "the complement of no windows is the whole week; leave the layer unrestricted"
        )
    merged: list[tuple[timedelta, timedelta]] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    edges = [*merged, (merged[0][0] + WEEK, merged[0][1] + WEEK)]
    gaps = [
        (edges[i][1], edges[i + 1][0]) for i in range(len(merged)) if edges[i][1] < edges[i + 1][0]
    ]
    if not gaps:
        raise ValueError("the windows cover the whole week; their complement is empty")
    return tuple(_window_between(begin % WEEK, finish % WEEK) for begin, finish in gaps)


def _window_between(begin: timedelta, finish: timedelta) -> Window:
    """A window from one week offset to another."""
    return Window(begin // DAY, _clock(begin % DAY), finish // DAY, _clock(finish % DAY))


def _clock(offset: timedelta) -> time:
    """The time of day ``offset`` (under a day) after midnight."""
    seconds = offset.seconds
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, offset.microseconds)


# --- Layers, schedules, overrides ------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """A rotation, on call only inside its restriction windows (always, if there are none).

    Restrictions do not pause the rotation: handoffs continue outside the windows, as in
    PagerDuty, so "daily" means one calendar day per person.
    """

    rotation: Rotation
    restrictions: Sequence[Window] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "restrictions", tuple(self.restrictions))


def _layer_person(layer: Layer, at: datetime) -> str | None:
    """The layer's person at ``at``, or None when outside its windows or before its start."""
    if layer.restrictions and not _in_windows(layer, at):
        return None
    return _rotation_person(layer.rotation, at)


def _in_windows(layer: Layer, at: datetime) -> bool:
    """Whether ``at`` falls in one of the layer's windows (edges resolved like handoffs)."""
    zone = layer.rotation.tz
    return any(
        any(True for _ in _occurrences(window, zone, at, at + _TICK))
        for window in layer.restrictions
    )


@dataclass(frozen=True)
class Override:
    """A one-off change on top of the layers, between two instants.

    ``replace``: ``person`` instead of ``replaces`` (instead of everyone, and even when
    nobody was on call, if ``replaces`` is None). ``add``: ``person`` as well.
    ``remove``: ``person`` taken off; if nobody remains, nobody is on call.
    """

    start: datetime
    end: datetime
    action: Action
    person: str
    replaces: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _as_utc(self.start, "override start"))
        object.__setattr__(self, "end", _as_utc(self.end, "override end"))
        if self.end <= self.start:
            raise ValueError(
                f"override end {self.end.isoformat()} must be after "
                f"its start {self.start.isoformat()}"
            )
        if self.action not in get_args(Action):
            raise ValueError(
                f"override action must be one of {get_args(Action)}, not {self.action!r}"
            )
        if not isinstance(self.person, str) or not self.person.strip():
            raise ValueError("an override needs a person")
        if self.replaces is not None and self.action != "replace":
            raise ValueError(
                f"'replaces' only makes sense for a replace override, not {self.action!r}"
            )

    def apply(self, people: tuple[str, ...]) -> tuple[str, ...]:
        """Who is on call after this override, given who was before it."""
        if self.action == "add":
            return _unique((*people, self.person))
        if self.action == "remove":
            return tuple(person for person in people if person != self.person)
        if self.replaces is None:
            return (self.person,)
        return _unique(self.person if person == self.replaces else person for person in people)


def _unique(people: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(people))


@dataclass(frozen=True)
class Schedule:
    """Layers, lowest first: a higher layer with someone on call wins. Overrides apply
    after the layers, in the order given."""

    layers: Sequence[Layer]
    overrides: Sequence[Override] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        if not self.layers:
            raise ValueError("a schedule needs at least one layer")


@dataclass(frozen=True)
class Shift:
    """One person on call from ``start`` to ``end`` (UTC, end exclusive)."""

    person: str
    start: datetime
    end: datetime


def on_call(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    """Who is on call at ``at``: usually one person, none in a gap, more after an ``add``."""
    return _on_call(schedule, _as_utc(at, "at"))


def _on_call(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    people: tuple[str, ...] = ()
    for layer in reversed(schedule.layers):
        person = _layer_person(layer, at)
        if person is not None:
            people = (person,)
            break
    for override in schedule.overrides:
        if override.start <= at < override.end:
            people = override.apply(people)
    return people


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call over [start, end), as maximal per-person intervals, by start time.

    A person who stays on call across a handoff or a layer change keeps one shift; shifts
    are clipped to [start, end). The answer is the same as asking ``on_call`` at every
    instant: it is computed at every instant where anything can change.
    """
    low, high = _as_utc(start, "start"), _as_utc(end, "end")
    if high <= low:
        raise ValueError(f"end {high.isoformat()} must be after start {low.isoformat()}")
    points = sorted({low, *_changes(schedule, low, high)})
    running: dict[str, tuple[datetime, int]] = {}
    found: list[tuple[datetime, int, Shift]] = []
    for point in points:
        people = _on_call(schedule, point)
        for person in [p for p in running if p not in people]:
            began, rank = running.pop(person)
            found.append((began, rank, Shift(person, began, point)))
        for rank, person in enumerate(people):
            running.setdefault(person, (point, rank))
    found += [
        (began, rank, Shift(person, began, high)) for person, (began, rank) in running.items()
    ]
    return [shift for _, _, shift in sorted(found, key=lambda item: (item[0], item[1]))]


def _changes(schedule: Schedule, low: datetime, high: datetime) -> Iterator[datetime]:
    """Every instant in (low, high) where who is on call may change."""
    for layer in schedule.layers:
        yield from _handoffs(layer.rotation, low, high)
        for window in layer.restrictions:
            for edges in _occurrences(window, layer.rotation.tz, low, high):
                yield from (edge for edge in edges if low < edge < high)
    for override in schedule.overrides:
        yield from (edge for edge in (override.start, override.end) if low < edge < high)
