"""Durations as written in a policy: ``parse_span`` and ``format_timedelta``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.policy.spans import Span, format_timedelta, parse_span


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", Span(time=timedelta(minutes=15))),
        ("4h", Span(time=timedelta(hours=4))),
        ("1h30m", Span(time=timedelta(hours=1, minutes=30))),
        ("2d", Span(time=timedelta(days=2))),
        ("1w", Span(time=timedelta(weeks=1))),
        ("45s", Span(time=timedelta(seconds=45))),
        ("1d2h3m4s", Span(time=timedelta(days=1, hours=2, minutes=3, seconds=4))),
        ("0m", Span(time=timedelta(0))),
        ("3bd", Span(business_days=3)),
        ("1bd", Span(business_days=1)),
        (" 1H 30M ", Span(time=timedelta(hours=1, minutes=30))),
        ("2 h", Span(time=timedelta(hours=2))),
        ("90m", Span(time=timedelta(minutes=90))),
    ],
)
def test_parse_span(text: str, expected: Span) -> None:
    assert parse_span(text) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [(30, timedelta(minutes=30)), (0, timedelta(0)), (1.5, timedelta(seconds=90))],
)
def test_a_bare_number_is_minutes(number: float, expected: timedelta) -> None:
    assert parse_span(number) == Span(time=expected)


def test_a_span_passes_through() -> None:
    span = Span(business_days=2)
    assert parse_span(span) is span


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("15 minutes", "is not a duration"),
        ("", "is not a duration"),
        ("m", "is not a duration"),
        ("15", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("-5m", "is not a duration"),
        ("5x", "is not a duration"),
        ("1h 30 min", "is not a duration"),
        ("1bd2h", "cannot be mixed"),
        ("2bd1bd", "cannot be mixed"),
        ("5m5m", "repeats a unit"),
        (-1, "cannot be negative"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        (["15m"], "expected a duration"),
    ],
)
def test_bad_spans_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_span(value)


def test_the_message_shows_how_to_write_it() -> None:
    with pytest.raises(ValueError) as caught:
        parse_span("15 minutes")
    assert str(caught.value) == (
        "'15 minutes' is not a duration; write e.g. '15m', '1h30m', '2d' or '3bd'"
    )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=4), "4h"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(weeks=1), "7d"),
        (timedelta(days=2, seconds=5), "2d5s"),
        (timedelta(minutes=-5), "-5m"),
        (timedelta(hours=-1, minutes=-1, seconds=-1), "-1h1m1s"),
        (timedelta(milliseconds=400), "0m"),
    ],
)
def test_format_timedelta(delta: timedelta, text: str) -> None:
    assert format_timedelta(delta) == text


@pytest.mark.parametrize("text", ["5m", "1h30m", "1d2h", "2d5s", "45s", "4h"])
def test_format_and_parse_round_trip(text: str) -> None:
    span = parse_span(text)
    assert format_timedelta(span.time) == text
    assert str(span) == text


def test_str_of_business_days() -> None:
    assert str(Span(business_days=3)) == "3bd"
    assert str(parse_span("1bd")) == "1bd"
    assert str(Span()) == "0m"
