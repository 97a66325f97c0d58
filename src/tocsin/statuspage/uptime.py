"""Uptime per day from a component's status history (pure: no I/O, time passed in).

A day is the page's calendar day in its time zone. Its uptime is the share of the part of
the day that has passed (and in which the component existed) spent ``operational`` or
``under_maintenance``; a day without any such part counts as fully up.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.statuspage.rules import COMPONENT_STATUSES, UP


@dataclass(frozen=True)
class Day:
    day: date
    uptime: float
    worst: str


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends (23 or 25 hours around DST)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def last_days(now: datetime, zone: ZoneInfo, count: int) -> list[date]:
    """The ``count`` local days up to and including today, oldest first."""
    today = now.astimezone(zone).date()
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


def segments(
    changes: Sequence[tuple[datetime, str]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """The stretches of ``[start, end)`` and the status in each, from changes sorted by
    time (``(at, new_status)``); before the first change the component did not exist."""
    out: list[tuple[datetime, datetime, str]] = []
    # The change in force at ``start`` (if any), then those that happen before ``end``.
    first = max(bisect_right(changes, start, key=lambda c: c[0]) - 1, 0)
    for i in range(first, len(changes)):
        at, status = changes[i]
        if at >= end:
            break
        until = changes[i + 1][0] if i + 1 < len(changes) else end
        lo, hi = max(at, start), min(until, end)
        if lo < hi:
            out.append((lo, hi, status))
    return out


def uptime_days(
    changes: Sequence[tuple[datetime, str]], days: Sequence[date], zone: ZoneInfo, now: datetime
) -> list[Day]:
    """One :class:`Day` per day in ``days`` (oldest first)."""
    out = []
    ordered = sorted(changes, key=lambda c: c[0])
    for day in days:
        start, end = day_bounds(day, zone)
        parts = segments(ordered, start, min(end, now))
        total = sum((hi - lo).total_seconds() for lo, hi, _ in parts)
        up = sum((hi - lo).total_seconds() for lo, hi, s in parts if s in UP)
        worst = max((s for _, _, s in parts), key=COMPONENT_STATUSES.index, default="operational")
        out.append(Day(day, up / total if total > 0 else 1.0, worst))
    return out


def percent(uptimes: Sequence[float]) -> float:
    """The mean of daily uptimes (0..1), as a percentage with two decimals."""
    if not uptimes:
        return 100.0
    return round(100.0 * sum(uptimes) / len(uptimes), 2)
