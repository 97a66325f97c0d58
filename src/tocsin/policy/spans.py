"""Durations as people write them in a policy: ``5m``, ``1h30m``, ``2d``, ``3bd``.

``bd`` means business days on the policy's calendar. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*(bd|w|d|h|m|s)")
_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


@dataclass(frozen=True)
class Span:
    """A length of time: clock time, or a whole number of business days."""

    time: timedelta = timedelta(0)
    business_days: int = 0

    def __str__(self) -> str:
        if self.business_days:
            return f"{self.business_days}bd"
        return format_timedelta(self.time)


def parse_span(value: object) -> Span:
    """Parse ``"15m"``, ``"1h30m"``, ``"3bd"`` or a number of minutes."""
    if isinstance(value, Span):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '15m', '4h' or '3bd'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return Span(time=timedelta(minutes=value))
    if not isinstance(value, str):
        raise ValueError("expected a duration such as '15m', '4h' or '3bd'")
    text = value.strip().lower().replace(" ", "")
    parts = _PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration; write e.g. '15m', '1h30m', '2d' or '3bd'")
    units = [u for _, u in parts]
    if "bd" in units:
        if len(parts) != 1:
            raise ValueError(f"{value!r}: business days ('bd') cannot be mixed with other units")
        return Span(business_days=int(parts[0][0]))
    if len(set(units)) != len(units):
        raise ValueError(f"{value!r} repeats a unit")
    total = sum((int(n) * _UNITS[u] for n, u in parts), timedelta(0))
    return Span(time=total)


def format_timedelta(delta: timedelta) -> str:
    """``timedelta(hours=1, minutes=30)`` -> ``"1h30m"``; negative values get a ``-``."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds == 0:
        return "0m"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            out.append(f"{amount}{unit}")
    return sign + "".join(out)
