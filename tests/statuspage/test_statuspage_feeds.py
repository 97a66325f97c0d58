"""The history feeds parse as RSS 2.0 and Atom 1.0 with feedparser, and carry every
incident and maintenance with its updates and a full link to its page."""

from __future__ import annotations

from collections.abc import Callable

import feedparser
import pytest
from tests.statuspage.page_samples import ACTIVE_BODY, RESOLVED_BODY, sample_view

from tocsin.statuspage import feeds
from tocsin.statuspage.links import Links

NAMES = {
    "Scores are not saving",
    "Games do not load",
    "Database upgrade",
    "Payment provider switch",
}


@pytest.mark.parametrize(("build", "version"), [(feeds.rss, "rss20"), (feeds.atom, "atom10")])
def test_feeds_parse_with_every_entry(build: Callable[..., bytes], version: str) -> None:
    parsed = feedparser.parse(build(sample_view(), Links(), "https://tocsin.example.org"))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    assert parsed.feed.title == "Example Learning status history"
    assert parsed.feed.link == "https://tocsin.example.org/status"
    assert {e.title for e in parsed.entries} == NAMES
    # newest change first: the maintenance that started half an hour ago
    assert parsed.entries[0].title == "Database upgrade"
    active = next(e for e in parsed.entries if e.title == "Scores are not saving")
    assert active.link == "https://tocsin.example.org/status/incidents/inc0active"
    assert active.id == "tag:status.example.org,2005:Incident/inc0active"
    content = active.content[0].value if version == "atom10" else active.description
    assert ACTIVE_BODY in content and "<strong>Identified</strong>" in content
    resolved = next(e for e in parsed.entries if e.title == "Games do not load")
    assert RESOLVED_BODY in (resolved.get("content") or [resolved])[0].get(
        "value", resolved.get("description", "")
    )


def test_static_feed_links_point_into_the_export() -> None:
    parsed = feedparser.parse(feeds.atom(sample_view(), Links(static=True), "https://s.example/x"))
    links = {e.title: e.link for e in parsed.entries}
    assert links["Games do not load"] == "https://s.example/x/incidents/inc0old.html"
    assert parsed.feed.link == "https://s.example/x/index.html"


def test_dutch_feed() -> None:
    parsed = feedparser.parse(feeds.rss(sample_view("nl"), Links(), "https://t.example"))
    assert not parsed.bozo
    assert parsed.feed.language == "nl"
    assert parsed.feed.title == "Statusgeschiedenis van Example Learning"
    active = next(e for e in parsed.entries if e.title == "Scores are not saving")
    assert "<strong>Oorzaak gevonden</strong>" in active.description


def test_markup_in_names_and_bodies_stays_text() -> None:
    view = sample_view()
    view.incidents[0]["name"] = "Fish & <chips>"
    view.incidents[0]["incident_updates"][0]["body"] = "<img src=x onerror=alert(1)>"
    parsed = feedparser.parse(feeds.rss(view, Links(), "https://t.example"))
    assert not parsed.bozo
    entry = next(e for e in parsed.entries if e.title == "Fish & <chips>")
    assert "<img" not in entry.description and "&lt;img" in entry.description
