"""Report periods: a week, a month, a quarter or a custom range of days. Pure.

A period is a span of whole local days in the policy's time zone (``2026-01`` is January
as the organisation's clock shows it), turned into UTC bounds ``[start, end)`` for the
queries. Each period knows the one before it, for "change against the previous period".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR_RANGE = range(1970, 9999)  # the year after the last must still be a date


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last`` (inclusive) of ``kind``, named ``label``."""

    kind: str  # week, month, quarter or custom
    label: str
    first: date
    last: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """UTC ``[start, end)``: local midnight of ``first`` to that of the day after ``last``."""
        start = datetime.combine(self.first, time(0), zone)
        end = datetime.combine(self.last + timedelta(days=1), time(0), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def previous(self) -> Period:
        """The period just before: the previous week, month or quarter, or for a custom
        range the same number of days before it."""
        if self.kind == "week":
            return week(self.first - timedelta(days=7))
        if self.kind == "month":
            return month(self.first - timedelta(days=1))
        if self.kind == "quarter":
            return quarter(self.first - timedelta(days=1))
        length = (self.last - self.first).days + 1
        return custom(self.first - timedelta(days=length), self.first - timedelta(days=1))


def week(day: date) -> Period:
    """The ISO week (Monday to Sunday) holding ``day``."""
    year, number, weekday = day.isocalendar()
    first = day - timedelta(days=weekday - 1)
    return Period("week", f"{year}-W{number:02d}", first, first + timedelta(days=6))


def month(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period("month", f"{first:%Y-%m}", first, following - timedelta(days=1))


def quarter(day: date) -> Period:
    number = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * number - 2, 1)
    last = month(date(day.year, 3 * number, 1)).last
    return Period("quarter", f"{day.year}-Q{number}", first, last)


def custom(first: date, last: date) -> Period:
    for field, day in (("from", first), ("to", last)):
        if day.year not in _YEAR_RANGE:
            raise InvalidInput(
                f"{field}: year {day.year} is out of range ({YEARS[0]}-{YEARS[1]})",
                details={"field": field, "value": str(day), "out_of_range": list(YEARS)},
            )
    if last < first:
        raise InvalidInput(
            f"the range ends ({last}) before it starts ({first})",
            details={"field": "to", "from": str(first), "to": str(last)},
        )
    return Period("custom", f"{first}..{last}", first, last)


def parse(text: str) -> Period:
    """``2026-01`` (month), ``2026-W03`` (ISO week) or ``2026-Q1`` (quarter)."""
    value = text.strip()
    try:
        if found := _MONTH.match(value):
            return month(date(_year(found[1]), int(found[2]), 1))
        if found := _WEEK.match(value):
            return week(date.fromisocalendar(_year(found[1]), int(found[2]), 1))
        if found := _QUARTER.match(value):
            return quarter(date(_year(found[1]), 3 * int(found[2]) - 2, 1))
    except ValueError as exc:
        raise _bad(value, str(exc), out_of_range=isinstance(exc, _OutOfRange)) from None
    raise _bad(value, "expected a month (2026-01), an ISO week (2026-W03) or a quarter (2026-Q1)")


class _OutOfRange(ValueError):
    pass


#: The years a period may lie in, as details of the refusal (``out_of_range``).
YEARS = (_YEAR_RANGE.start, _YEAR_RANGE.stop - 1)


def _year(text: str) -> int:
    year = int(text)
    if year not in _YEAR_RANGE:
        raise _OutOfRange(f"year {year} is out of range ({YEARS[0]}-{YEARS[1]})")
    return year


def _bad(value: str, why: str, *, out_of_range: bool = False) -> InvalidInput:
    details: dict[str, object] = {"field": "period", "value": value}
    if out_of_range:
        details["out_of_range"] = list(YEARS)
    return InvalidInput(f"period {value!r}: {why}", details=details)


def choose(period: str | None, first: date | None, last: date | None) -> Period:
    """The period named (``--period``) or the custom range (``--from``/``--to``)."""
    if period is not None and (first is not None or last is not None):
        raise InvalidInput(
            "give a period or a range (from, to), not both", details={"field": "period"}
        )
    if period is not None:
        return parse(period)
    if first is None or last is None:
        raise InvalidInput(
            "give a period (2026-01, 2026-W03, 2026-Q1) or both ends of a range (from, to)",
            details={"field": "period" if first is None and last is None else "from/to"},
        )
    return custom(first, last)
