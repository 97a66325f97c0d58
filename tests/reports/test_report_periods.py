"""Report periods in the policy's time zone, the percentile definition, and the text
exposition format. Pure: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tocsin.errors import InvalidInput
from tocsin.reports import exposition, periods
from tocsin.reports.figures import percentile_cont

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_month_in_local_days() -> None:
    january = periods.parse("2026-01")
    assert (january.first, january.last) == (date(2026, 1, 1), date(2026, 1, 31))
    # Midnight in Amsterdam (UTC+1 in winter) is 23:00 UTC the day before.
    assert january.bounds(AMSTERDAM) == (
        datetime(2025, 12, 31, 23, 0, tzinfo=UTC),
        datetime(2026, 1, 31, 23, 0, tzinfo=UTC),
    )
    assert january.previous().label == "2025-12"
    assert periods.parse("2024-03").previous().last == date(2024, 2, 29)


def test_iso_week_quarter_and_custom() -> None:
    week = periods.parse("2026-W01")
    assert (week.first, week.last) == (date(2025, 12, 29), date(2026, 1, 4))
    assert week.previous().label == "2025-W52"
    quarter = periods.parse("2026-q1")
    assert (quarter.label, quarter.first, quarter.last) == (
        "2026-Q1",
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert quarter.previous().label == "2025-Q4"
    custom = periods.custom(date(2026, 1, 10), date(2026, 1, 19))
    assert (custom.previous().first, custom.previous().last) == (
        date(2025, 12, 31),
        date(2026, 1, 9),
    )
    # A summer month across the change to daylight saving time ends at 22:00 UTC.
    assert periods.parse("2026-03").bounds(AMSTERDAM)[1] == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2026-00", "2026-13", "2026-W00", "2026-W54", "2026-Q5", "26-01", "9999-12", "9999-Q4"]
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        periods.parse(text)
    details = dict(caught.value.details or {})
    assert details.pop("out_of_range", None) == ([1970, 9998] if text.startswith("9999") else None)
    assert details == {"field": "period", "value": text}


def test_percentile_cont_interpolates_like_postgresql() -> None:
    # Sorted 10, 20, 30, 40: the median lies halfway between 20 and 30; p90 at position
    # 0.9 * 3 = 2.7, 70 % of the way from 30 to 40.
    assert percentile_cont(20, 30, 0.5, 4) == 25.0
    assert percentile_cont(30, 40, 0.9, 4) == 37.0
    assert percentile_cont(7, 7, 0.9, 1) == 7.0  # one value: itself


def test_exposition_parses_with_prometheus_parser() -> None:
    gauge = exposition.Family("demo_open", "gauge", 'Open "things"\nper label.')
    gauge.add(3, severity='P0 "a\\b"')
    histogram = exposition.histogram(
        "demo_seconds",
        "Durations.",
        (1.5, 10),
        [exposition.Histogram({"severity": "P0"}, [1, 2], 12.25, 3)],
    )
    families = {
        f.name: f for f in text_string_to_metric_families(exposition.render([gauge, histogram]))
    }
    (sample,) = families["demo_open"].samples
    assert (sample.labels, sample.value) == ({"severity": 'P0 "a\\b"'}, 3)
    assert families["demo_open"].documentation == 'Open "things"\nper label.'
    values = {(s.name, s.labels.get("le")): s.value for s in families["demo_seconds"].samples}
    assert values == {
        ("demo_seconds_bucket", "1.5"): 1,
        ("demo_seconds_bucket", "10"): 2,
        ("demo_seconds_bucket", "+Inf"): 3,
        ("demo_seconds_sum", None): 12.25,
        ("demo_seconds_count", None): 3,
    }
