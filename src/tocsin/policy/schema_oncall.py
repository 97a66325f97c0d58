"""The ``schedules:`` section: on-call rotations in layers, in an IANA time zone.

Pure data; the calculator that answers "who is on call at T" is :mod:`tocsin.oncall.rotation`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from tocsin.oncall import rotation
from tocsin.policy.spans import parse_span
from tocsin.policy.types import Duration, Slug, Strict, Weekday

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_CLOCK = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})$", re.IGNORECASE)


def _clock(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{text!r} is not a time of day; write e.g. '09:00'")
    return time(int(match[1]), int(match[2]))


def _day_clock(text: str) -> tuple[int, time]:
    match = _DAY_CLOCK.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a day and time; write e.g. 'fri 18:00'")
    return WEEKDAY_NAMES.index(match[1].lower()), _clock(f"{match[2]}:{match[3]}")


class WindowSpec(Strict):
    """A weekly window: ``{days: [mon, tue], from: "09:00", to: "18:00"}`` (an earlier ``to``
    runs overnight) or ``{from: "fri 18:00", to: "mon 09:00"}``."""

    days: list[Weekday] | None = None
    from_: str = Field(alias="from")
    to: str

    @model_validator(mode="after")
    def _valid(self) -> WindowSpec:
        self.windows()
        return self

    def windows(self) -> tuple[rotation.Window, ...]:
        if self.days is not None:
            if not self.days:
                raise ValueError("days must name at least one day")
            return rotation.daily_windows(
                [WEEKDAY_NAMES.index(d) for d in self.days], _clock(self.from_), _clock(self.to)
            )
        (start_day, start), (end_day, end) = _day_clock(self.from_), _day_clock(self.to)
        return (rotation.Window(start_day, start, end_day, end),)


Restriction = list[WindowSpec] | Literal["business_hours"]


class LayerSpec(Strict):
    """One rotation of people, optionally on call only during (or outside) some windows."""

    name: str = ""
    participants: list[str] = Field(min_length=1)
    #: hourly / daily / weekly turns (``every`` of them), or a fixed length such as ``12h``.
    shift: Literal["hourly", "daily", "weekly"] | str = "weekly"
    every: Annotated[int, Field(ge=1, le=1000)] = 1
    handoff: str = "09:00"
    #: The local date of the first handoff, when the first participant goes on call.
    start: date = date(2026, 1, 5)
    during: Restriction | None = None
    outside: Restriction | None = None

    @model_validator(mode="after")
    def _valid(self) -> LayerSpec:
        self.length()
        _clock(self.handoff)
        if self.during is not None and self.outside is not None:
            raise ValueError("give 'during' or 'outside', not both")
        return self

    def length(self) -> rotation.ShiftLength:
        if self.shift == "hourly":
            return rotation.ShiftLength.hourly(self.every)
        if self.shift == "daily":
            return rotation.ShiftLength.daily(self.every)
        if self.shift == "weekly":
            return rotation.ShiftLength.weekly(self.every)
        span = parse_span(self.shift)
        if span.business_days or span.time <= timedelta(0):
            raise ValueError(
                f"shift {self.shift!r}: use hourly, daily, weekly or a length such as '12h'"
            )
        return rotation.ShiftLength.custom(span.time * self.every)

    def start_wall(self) -> datetime:
        return datetime.combine(self.start, _clock(self.handoff))


class ScheduleSpec(Strict):
    key: Slug
    name: str
    description: str = ""
    #: IANA zone the handoffs and windows are read in; the organisation's zone by default.
    timezone: str | None = None
    #: Later layers take precedence where they have someone on call (a business-hours layer
    #: listed after an all-week after-hours layer covers the day).
    layers: list[LayerSpec] = Field(min_length=1)
    #: How far ahead the iCal feed publishes shifts (seed 004: two weeks).
    publish_ahead: Duration = parse_span("8w")
