"""RFC 5545 (iCalendar) text for on-call shifts: one VEVENT per shift, times in UTC.

Pure: no I/O, no clock (the caller passes ``stamp``, the DTSTAMP of every event). Lines
end in CRLF and are folded at 75 octets without splitting a UTF-8 character; TEXT values
are escaped. Calendar clients refresh a subscribed feed as a whole, and a stable UID per
shift lets them update an event in place instead of adding a copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRODID = "-//Tocsin//On-call schedules//EN"
MAX_OCTETS = 75


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """``line`` folded into lines of at most 75 octets, continuations starting with a space."""
    out: list[str] = []
    current: list[str] = []
    size, limit = 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # a continuation starts with a space
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out)


def utc_stamp(moment: datetime) -> str:
    """``20260323T080000Z``: a DATE-TIME in UTC."""
    if moment.tzinfo is None:
        raise ValueError(f"iCalendar times must be timezone-aware, not {moment.isoformat()}")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _duration(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds()) // 60)
    return f"PT{minutes // 60}H{minutes % 60}M" if minutes % 60 else f"PT{minutes // 60}H"


def calendar(
    name: str,
    events: Iterable[Event],
    *,
    stamp: datetime,
    description: str = "",
    refresh: timedelta = timedelta(hours=1),
) -> str:
    """A complete VCALENDAR of ``events``."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape(name)}",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    if description:
        lines += [f"DESCRIPTION:{escape(description)}", f"X-WR-CALDESC:{escape(description)}"]
    lines += [
        f"REFRESH-INTERVAL;VALUE=DURATION:{_duration(refresh)}",
        f"X-PUBLISHED-TTL:{_duration(refresh)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape(event.uid)}",
            f"DTSTAMP:{utc_stamp(stamp)}",
            f"DTSTART:{utc_stamp(event.start)}",
            f"DTEND:{utc_stamp(event.end)}",
            f"SUMMARY:{escape(event.summary)}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape(event.description)}")
        lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
