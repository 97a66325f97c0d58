"""The reports page's pure parts: the SVG bar charts, choosing the period from the form,
and the two languages' words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from tocsin.web.reports import strings
from tocsin.web.reports.charts import BAR_ROOM, LABEL_WIDTH, Bar, Section, bar_chart
from tocsin.web.reports.views import BadQuery, ReportQuery, choose, following
from tocsin.web.strings import Words

SVG = "{http://www.w3.org/2000/svg}"


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def _rect_widths(root: ET.Element) -> list[float]:
    return [float(r.attrib["width"]) for r in root.iter(f"{SVG}rect")]


def test_a_chart_is_svg_with_a_title_and_description_it_is_labelled_by() -> None:
    root = _svg(
        bar_chart(
            "severity",
            "Incidents by severity",
            "How many of each",
            [Section(None, [Bar("SEV1 Critical", 2, "2", "sev-0"), Bar("SEV2 Major", 3, "3")])],
        )
    )
    assert root.tag == f"{SVG}svg" and root.attrib["role"] == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Incidents by severity"
    assert desc is not None and desc.text == "How many of each"
    assert root.attrib["aria-labelledby"] == f"{title.attrib['id']} {desc.attrib['id']}"
    # every value is written beside its bar, so nothing rests on colour
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["SEV1 Critical", "2", "SEV2 Major", "3"]
    classes = [g.attrib["class"] for g in root.iter(f"{SVG}g")]
    assert classes == ["bar bar-sev-0", "bar"]


def test_bar_lengths_are_proportional_to_the_values() -> None:
    bars = [Bar("a", 10, "10"), Bar("b", 5, "5"), Bar("c", 2.5, "2.5"), Bar("d", 0, "0")]
    widths = _rect_widths(_svg(bar_chart("n", "t", "d", [Section(None, bars)])))
    assert widths == [BAR_ROOM, BAR_ROOM / 2, BAR_ROOM / 4, 0]
    # the values are written after the bar's end
    root = _svg(bar_chart("n", "t", "d", [Section(None, bars)]))
    values = [t for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "chart-value"]
    starts = [float(t.attrib["x"]) for t in values]
    assert starts == sorted(starts, reverse=True) and starts[0] > LABEL_WIDTH + BAR_ROOM


def test_a_fixed_maximum_scales_percentages() -> None:
    bars = [Bar("all", 50, "50%"), Bar("SEV1", 100, "100%"), Bar("SEV2", None, "no verdict")]
    root = _svg(bar_chart("sla", "SLA", "d", [Section(None, bars)], maximum=100))
    assert _rect_widths(root) == [BAR_ROOM / 2, BAR_ROOM]  # no figure, no bar
    assert "no verdict" in [t.text for t in root.iter(f"{SVG}text")]


def test_sections_have_headings_and_share_one_scale() -> None:
    root = _svg(
        bar_chart(
            "times",
            "Times",
            "d",
            [
                Section("Total", [Bar("MTTA", 600, "MTTA 10m", "tta")]),
                Section("SEV1", [Bar("MTTA", 300, "MTTA 5m", "tta")]),
                Section("SEV2", []),  # a group without bars is left out
            ],
        )
    )
    headings = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "chart-heading"]
    assert headings == ["Total", "SEV1"]
    assert _rect_widths(root) == [BAR_ROOM, BAR_ROOM / 2]
    rows = [float(r.attrib["y"]) for r in root.iter(f"{SVG}rect")]
    assert rows[1] > rows[0]
    assert float(root.attrib["height"]) > rows[1]


def test_no_data_says_so() -> None:
    for sections in ([], [Section(None, [])], [Section("x", [])]):
        root = _svg(bar_chart("empty", "Nothing", "d", sections, empty="No incidents."))
        assert list(root.iter(f"{SVG}rect")) == []
        assert [t.text for t in root.iter(f"{SVG}text")] == ["No incidents."]
    zeros = _svg(bar_chart("z", "t", "d", [Section(None, [Bar("a", 0, "0"), Bar("b", 0, "0")])]))
    assert _rect_widths(zeros) == [0, 0]  # all zero: no division by zero


def test_text_is_escaped_and_there_is_no_inline_style() -> None:
    nasty = 'Deploy <script>alert("x")</script> & "quotes"'
    text = bar_chart(
        'a"b<c', "<b>Title</b> & co", "desc <i>", [Section("<h>", [Bar(nasty, 1, "1 & <2>")])]
    )
    assert "<script" not in text and "<b>" not in text and "style" not in text
    root = _svg(text)
    assert root.find(f"{SVG}title") is not None
    assert root.findtext(f"{SVG}title") == "<b>Title</b> & co"
    written = [t.text for t in root.iter(f"{SVG}text")]
    assert "<h>" in written and "1 & <2>" in written
    # a long label is cut on the chart; the whole of it is the bar's tooltip
    label = next(t for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "chart-label")
    assert label.text is not None and label.text.endswith("…") and len(label.text) <= 26
    tips = [t.text for g in root.iter(f"{SVG}g") for t in g.findall(f"{SVG}title")]
    assert tips == [f"{nasty}: 1 & <2>"]
    ident = root.attrib["aria-labelledby"].split()[0]
    assert re.fullmatch(r"chart-[a-z0-9-]+-title", ident)


# --- the period from the form ------------------------------------------------------------

EN, NL = Words("en", "UTC"), Words("nl", "Europe/Amsterdam")
TODAY = date(2026, 2, 1)


def test_nothing_asked_is_this_month() -> None:
    chosen = choose(ReportQuery(), EN, TODAY)
    assert (chosen.period.label, chosen.by) == ("2026-02", "severity")


@pytest.mark.parametrize(
    ("query", "label", "kind"),
    [
        (ReportQuery(period="2026-01", by="type"), "2026-01", "month"),
        (ReportQuery(period="2026-w03"), "2026-W03", "week"),
        (ReportQuery(period="2026-Q1"), "2026-Q1", "quarter"),
        (ReportQuery(first="2026-01-10", last="2026-01-24"), "2026-01-10..2026-01-24", "custom"),
    ],
)
def test_periods_the_service_knows(query: ReportQuery, label: str, kind: str) -> None:
    period = choose(query, EN, TODAY).period
    assert (period.label, period.kind) == (label, kind)


def test_the_period_after() -> None:
    labels = [
        following(choose(ReportQuery(period=p), EN, TODAY).period).label
        for p in ("2025-12", "2026-W52", "2026-Q4")
    ]
    assert labels == ["2026-01", "2026-W53", "2027-Q1"]
    custom = choose(ReportQuery(first="2026-01-10", last="2026-01-24"), EN, TODAY).period
    assert following(custom).label == "2026-01-25..2026-02-08"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (ReportQuery(period="2026-13"), "period", "2026-13 is not a month"),
        (ReportQuery(period="January"), "period", "January is not a month"),
        (ReportQuery(period="2026-01", first="2026-01-01"), "period", "not both"),
        (ReportQuery(first="2026-01-31", last="2026-01-01"), "to", "comes before"),
        (ReportQuery(first="2026-01-31"), "to", "both its first and its last"),
        (ReportQuery(last="2026-01-31"), "from", "both its first and its last"),
        (ReportQuery(first="31-01-2026", last="2026-02-30"), "from", "31-01-2026 is not a date"),
        (ReportQuery(period="9999-12"), "period", "between 1970-01-01 and 9998-12-31"),
        (ReportQuery(first="0001-01-01", last="0001-01-02"), "from", "between"),
        (ReportQuery(period="2026-01", by="weather"), "by", "severity, type, team or service"),
    ],
)
def test_bad_periods_name_their_field(query: ReportQuery, field: str, message: str) -> None:
    with pytest.raises(BadQuery) as caught:
        choose(query, EN, TODAY)
    assert field in caught.value.errors and message in caught.value.errors[field]
    with pytest.raises(BadQuery) as in_dutch:
        choose(query, NL, TODAY)
    assert set(in_dutch.value.errors) == set(caught.value.errors)
    assert in_dutch.value.errors[field] != caught.value.errors[field]


def test_both_languages_have_every_reports_word() -> None:
    assert set(strings.EN) == set(strings.NL)
    assert all(key.startswith("reports.") for key in strings.EN)
    fields = re.compile(r"{(\w+)}")
    for key, text in strings.EN.items():
        assert set(fields.findall(text)) == set(fields.findall(strings.NL[key])), key
