"""RFC 5545 text: folding at 75 octets (never inside a UTF-8 character), escaping, CRLF,
UTC times; and what a real parser (the ``icalendar`` package) reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from tocsin.oncall.ical import Event, calendar, escape, fold, utc_stamp

STAMP = datetime(2026, 1, 15, 9, tzinfo=UTC)


def unfold(text: str) -> str:
    return text.replace("\r\n ", "")


@pytest.mark.parametrize(
    "line",
    [
        "SUMMARY:short",
        "SUMMARY:" + "x" * 67,  # exactly 75 octets
        "SUMMARY:" + "x" * 68,
        "DESCRIPTION:" + "a" * 500,
        "SUMMARY:Dienst van Ünal Çelik \u2013 \u2019s nachts " * 5,  # two- and three-octet
        "SUMMARY:" + "🔔" * 40,  # four-octet characters
    ],
)
def test_folded_lines_are_at_most_75_octets_and_unfold_to_the_original(line: str) -> None:
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(part.encode("utf-8")) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert unfold(folded) == line
    for part in parts:
        part.encode("utf-8").decode("utf-8")  # no character split across lines


def test_text_is_escaped() -> None:
    assert escape("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"


def test_times_are_utc() -> None:
    assert utc_stamp(datetime(2026, 3, 29, 3, tzinfo=ZoneInfo("Europe/Amsterdam"))) == (
        "20260329T010000Z"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        utc_stamp(datetime(2026, 3, 29, 3))


def test_a_calendar_a_client_parses() -> None:
    start = datetime(2026, 3, 28, 8, tzinfo=UTC)
    events = [
        Event(
            uid="primary/dana/20260328T080000Z@tocsin",
            start=start,
            end=start + timedelta(hours=23),
            summary="On call: Primary, Secondary; and more",
            description="Dana is on call\nSat 28 Mar 2026 09:00 CET - Sun 29 Mar 2026 09:00 CEST "
            + "with a long tail " * 8,
        ),
        Event(
            uid="primary/eli/20260329T070000Z@tocsin",
            start=start + timedelta(hours=23),
            end=start + timedelta(hours=47),
            summary="On call: Élise Ünal",
        ),
    ]
    text = calendar("On call: Primary", events, stamp=STAMP, description="Org: shifts")
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text

    parsed = icalendar.Calendar.from_ical(text)
    assert str(parsed["X-WR-CALNAME"]) == "On call: Primary"
    first, second = parsed.walk("VEVENT")
    assert str(first["UID"]) == "primary/dana/20260328T080000Z@tocsin"
    assert str(first["SUMMARY"]) == "On call: Primary, Secondary; and more"
    assert str(first["DESCRIPTION"]).startswith("Dana is on call\nSat 28 Mar")
    assert str(first["DESCRIPTION"]).endswith("with a long tail ")
    assert first.decoded("DTSTART") == start
    assert first.decoded("DTEND") - first.decoded("DTSTART") == timedelta(hours=23)
    assert first.decoded("DTSTAMP") == STAMP
    assert str(second["SUMMARY"]) == "On call: Élise Ünal"
    assert "DESCRIPTION" not in second


def test_an_empty_calendar_is_still_a_calendar() -> None:
    parsed = icalendar.Calendar.from_ical(calendar("Nothing", [], stamp=STAMP))
    assert list(parsed.walk("VEVENT")) == []
    assert str(parsed["PRODID"]).startswith("-//Tocsin")
