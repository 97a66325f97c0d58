"""The public page rendered from a public view: what it shows, in which words, and that it
is built to be read by everyone (headings in order, text for the bars, no script)."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest
from tests.statuspage.page_samples import ACTIVE_BODY, RESOLVED_BODY, sample_view

from tocsin.statuspage import layout, page
from tocsin.statuspage.links import Links
from tocsin.statuspage.strings import EN, LOCALES, NL, Words


class Outline(HTMLParser):
    """Headings (level, text), the page's visible text, elements by tag."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._heading: int | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = int(tag[1])
            self.headings.append((self._heading, ""))
        if tag in ("style", "script", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = None
        if tag in ("style", "script", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, (text + data).strip())
        if not self._skip and data.strip():
            self.text.append(data.strip())


def outline(html: str) -> Outline:
    parsed = Outline()
    parsed.feed(html)
    return parsed


def test_the_page_shows_status_components_incidents_and_maintenance() -> None:
    html = page.index(sample_view(), Links())
    parsed = outline(html)
    text = " ".join(parsed.text)
    assert "Major system outage" in text
    headings = [h for _, h in parsed.headings]
    for name in ("Learning", "Score Recording", "Game Player", "Payments and Subscriptions"):
        assert name in headings
    assert "Active incidents" in headings and "Scores are not saving" in headings
    assert ACTIVE_BODY in text and "A database migration locks the scores table." in text
    assert "Affected: Score Recording (Major outage)" in re.sub(r"\s+", " ", text)
    assert "Maintenance in progress" in headings and "Database upgrade" in headings
    assert "Scheduled maintenance" in headings and "Payment provider switch" in headings
    # the resolved incident is history, not active: under its day only
    assert headings.index("Games do not load") > headings.index("Past incidents")
    assert RESOLVED_BODY in text
    # times in the page's zone (Amsterdam, CET in March)
    assert "March 10, 2026 13:00 CET" in text


def test_each_component_has_a_90_day_bar_with_a_text_alternative() -> None:
    html = page.index(sample_view(), Links())
    bars = [attrs for tag, attrs in outline(html).tags if tag == "svg"]
    assert len(bars) == 3 and all(b["data-days"] == "90" and b["role"] == "img" for b in bars)
    assert 'id="bar-score-recording">Score Recording: uptime over the last 90 days, 99.94%' in html
    assert "2 of them with incidents or maintenance" in html
    # the outage today is drawn at the bar's end, in its own colour
    assert '<rect class="d-major_outage" x="356" width="4" height="10"/>' in html
    # and listed in words
    assert "March 10, 2026: Major outage, 90.00% uptime: Scores are not saving" in html
    assert "February 18, 2026: Partial outage, 95.00% uptime: Slow score saving" in html
    assert "100.00% uptime" in html  # payments


def test_bar_segments_join_days_of_one_status() -> None:
    days = sample_view().uptime["score-recording"]
    bar = layout.bar(days)
    assert [(s.start, s.days, s.status) for s in bar.segments] == [
        (0, 69, "operational"),
        (69, 1, "partial_outage"),
        (70, 19, "operational"),
        (89, 1, "major_outage"),
    ]
    assert [d.worst for d in bar.problems] == ["major_outage", "partial_outage"]


def test_headings_never_skip_a_level_and_there_is_one_h1() -> None:
    view = sample_view()
    for html in (
        page.index(view, Links()),
        page.history(view, Links()),
        page.incident(view, "inc0active", Links()),
    ):
        assert html is not None
        levels = [level for level, _ in outline(html).headings]
        assert levels.count(1) == 1 and levels[0] == 1
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_no_script_and_every_text_is_escaped() -> None:
    view = sample_view()
    view.incidents[0]["incident_updates"][0]["body"] = '<script>alert("x")</script>'
    view.incidents[0]["name"] = "<b>bold</b>"
    html = page.index(view, Links())
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_dutch_page_uses_dutch_words_only() -> None:
    html = page.index(sample_view("nl"), Links())
    parsed = outline(html)
    text = " ".join(parsed.text)
    assert 'lang="nl"' in html
    assert "Ernstige storing" in text and "Onderdelen" in text and "Actuele storingen" in text
    assert "10 maart 2026 13:00 CET" in text and "99,94% beschikbaar" in text
    english = [v for k, v in EN.items() if v != NL[k] and "{" not in v and len(v) > 3]
    assert [word for word in english if word in text] == []


def test_locales_have_the_same_strings() -> None:
    for locale, table in LOCALES.items():
        assert set(table) == set(EN), locale
        for key, value in table.items():
            assert set(re.findall(r"{(\w+)}", value)) == set(re.findall(r"{(\w+)}", EN[key]))


@pytest.mark.parametrize(
    ("value", "en", "nl"),
    [(100.0, "100.00%", "100,00%"), (99.999, "99.99%", "99,99%"), (0.0, "0.00%", "0,00%")],
)
def test_percentages_round_down(value: float, en: str, nl: str) -> None:
    assert Words("en").percent(value) == en
    assert Words("nl").percent(value) == nl


def test_recent_days_cover_fifteen_days_today_first() -> None:
    view = sample_view()
    days = layout.recent_days(view, page.words(view))
    assert len(days) == layout.RECENT_DAYS
    assert str(days[0].day) == "2026-03-10" and str(days[-1].day) == "2026-02-24"
    assert [i["name"] for i in days[0].incidents] == ["Scores are not saving"]
    assert [i["name"] for i in days[3].incidents] == ["Games do not load"]


def test_history_and_incident_pages() -> None:
    view = sample_view()
    history = outline(page.history(view, Links()))
    assert [h for _, h in history.headings][:4] == [
        "Example Learning incident history",
        "March 2026",
        "March 10, 2026",
        "Scores are not saving",
    ]
    one = page.incident(view, "inc0old", Links())
    assert one is not None and RESOLVED_BODY in one and "Some games do not load." in one
    assert page.incident(view, "nope", Links()) is None


def test_links_live_and_static() -> None:
    view = sample_view()
    live = page.index(view, Links())
    assert 'href="/status/assets/status.css"' in live
    assert 'href="/status/incidents/inc0active"' in live and 'href="/api/v2/summary.json"' in live
    static = page.index(view, Links(static=True))
    hrefs = re.findall(r'href="([^"]+)"', static)
    assert "incidents/inc0active.html" in hrefs and "api/v2/summary.json" in hrefs
    assert [h for h in hrefs if h.startswith("/")] == []
    nested = page.incident(view, "inc0active", Links(static=True, depth=1))
    assert nested is not None and 'href="../assets/status.css"' in nested


def test_components_shown_only_when_degraded_stay_hidden_when_fine() -> None:
    view = sample_view()
    view.components[3]["only_show_if_degraded"] = True
    assert "Payments and Subscriptions" not in page.index(view, Links())
    view.components[3]["status"] = "partial_outage"
    assert "Payments and Subscriptions" in page.index(view, Links())


@pytest.mark.parametrize(
    ("given", "title"),
    [
        ("Music Learning Community Status", "Music Learning Community Status"),
        ("Example Learning", "Example Learning status"),
        ("Arabisch Online Leren - Status", "Arabisch Online Leren - Status"),
        ("Status", "Status"),
    ],
)
def test_a_page_named_status_is_not_called_status_twice(given: str, title: str) -> None:
    view = sample_view()
    view.page["name"] = given
    headings = outline(page.index(view, Links())).headings
    assert headings[0] == (1, title)
    history = outline(page.history(view, Links())).headings
    assert history[0] == (1, f"{page.name(view)} incident history")
    assert page.name(view) == title.removesuffix(" status").removesuffix(" Status").rstrip(" -")


def test_the_sign_up_form_when_sign_ups_are_open() -> None:
    view = sample_view()
    assert "<form" not in page.index(view, Links())
    html = page.index(view, Links(subscribe="/statuspage/subscribe"))
    tags = outline(html).tags
    form = next(attrs for tag, attrs in tags if tag == "form")
    assert form["method"] == "post" and form["action"] == "/statuspage/subscribe"
    inputs = [attrs for tag, attrs in tags if tag == "input"]
    labelled = {attrs["for"] for tag, attrs in tags if tag == "label"}
    assert {i["id"] for i in inputs} <= labelled  # every field has its label
    assert [i["value"] for i in inputs if i["type"] == "checkbox"] == [
        "score-recording",
        "game-player",
        "payments",
    ]
    assert next(i for i in inputs if i["name"] == "email")["type"] == "email"
    assert "Updates per e-mail ontvangen" in page.index(
        sample_view("nl"), Links(subscribe="/statuspage/subscribe")
    )
