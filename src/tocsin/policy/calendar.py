"""Business-time arithmetic on a policy's calendar (weekdays, hours, holidays, time zone).

Pure functions: the due time of "1 hour, business hours only" or "3 business days" from
an instant. Wall-clock hours in the calendar's IANA zone, so daylight-saving changes do
not move the office hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.policy.spans import Span


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.opens, self.zone)
        end = datetime.combine(day, self.closes, self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when ``amount`` of business time has passed since ``start``."""
        remaining = amount
        day = start.astimezone(self.zone).date()
        cursor = start.astimezone(UTC)
        for _ in range(3660):  # ten years of days: a calendar with no business time ends it
            if self.is_business_day(day):
                open_at, close_at = self._window(day)
                begin = max(cursor, open_at)
                if begin < close_at:
                    available = close_at - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("the business calendar has no business hours")

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """``days`` full business days of business time after ``start``.

        From Friday 14:00 one business day is Monday 14:00; from Saturday (closed) it is
        the end of Monday: counting starts at the next opening.
        """
        length = datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)
        return self.add_business_time(start, length * days)

    def add(self, start: datetime, span: Span, *, business_hours: bool = False) -> datetime:
        """Add a policy span: business days, business time, or plain elapsed time."""
        if span.business_days:
            return self.add_business_days(start, span.business_days)
        if business_hours:
            return self.add_business_time(start, span.time)
        # In UTC: adding to a local time would add wall-clock time (23h over a DST change).
        return start.astimezone(UTC) + span.time
