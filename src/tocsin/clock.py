"""The only place Tocsin reads the time.

Every service takes a :class:`Clock`. Production uses :class:`SystemClock`; tests and
``tocsin simulate`` use :class:`VirtualClock`, which moves only when told to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that stands still until advanced: escalations become testable."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by keyword parts (``minutes=5``)."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += step
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("VirtualClock needs timezone-aware instants")
        if instant.astimezone(UTC) < self._now:
            raise ValueError("time does not run backwards")
        self._now = instant.astimezone(UTC)


def to_utc(value: datetime) -> datetime:
    """An aware datetime from outside, in UTC; ``ValueError`` if that leaves the calendar.

    (``0001-01-01T00:00+05:00`` is a valid ISO time whose UTC instant lies before year 1.)
    """
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the range of representable times") from None


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime read back from the database (SQLite drops the zone)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
