"""The incident history as RSS 2.0 and Atom feeds, at the names Statuspage uses
(``history.rss``, ``history.atom``), built from a :class:`PublicView` only.

As Statuspage's, a feed has one entry per incident or maintenance, newest change first;
its content is every update (status, time and text), so a reader shows the whole story.
Entry ids are ``tag:`` URIs of the page's host and the incident id: the same in the live
feeds and in a static export of them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from tocsin.statuspage.layout import moment
from tocsin.statuspage.links import Links, absolute
from tocsin.statuspage.page import name as page_name
from tocsin.statuspage.page import words
from tocsin.statuspage.public import PublicView
from tocsin.statuspage.strings import Words

#: Entries in a feed: the latest incidents and maintenance (the page has the rest).
ENTRIES = 50
ATOM_NS = "http://www.w3.org/2005/Atom"


def _entries(view: PublicView) -> list[dict[str, Any]]:
    everything = [*view.incidents, *view.scheduled_maintenances]
    newest = sorted(everything, key=_updated, reverse=True)
    return newest[:ENTRIES]


def _updated(incident: dict[str, Any]) -> datetime:
    return (
        moment(incident.get("updated_at"))
        or moment(incident.get("created_at"))
        or datetime.min.replace(tzinfo=UTC)
    )


def _published(incident: dict[str, Any]) -> datetime:
    return moment(incident.get("created_at")) or _updated(incident)


def _last_change(view: PublicView) -> datetime:
    entries = _entries(view)
    if entries:
        return _updated(entries[0])
    return moment(view.page.get("updated_at")) or view.generated_at


def _content(incident: dict[str, Any], w: Words) -> str:
    """The updates as HTML, newest first, as Statuspage writes them."""
    parts = []
    for update in incident.get("incident_updates") or []:
        at = moment(update.get("display_at") or update.get("created_at"))
        body = escape(str(update.get("body") or "")).replace("\n", "<br>")
        status = escape(w(f"update.{update.get('status')}"))
        when = escape(w.time(at)) if at else ""
        parts.append(f"<p><small>{when}</small><br><strong>{status}</strong> - {body}</p>")
    return "".join(parts)


def _tag(view: PublicView, incident: dict[str, Any]) -> str:
    host = urlsplit(str(view.page.get("url") or "")).hostname or "localhost"
    return f"tag:{host},2005:Incident/{incident.get('id')}"


def _link(incident: dict[str, Any], links: Links, base_url: str) -> str:
    href = links.incident(str(incident.get("id"))) or links.history()
    return absolute(base_url, href)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _xml(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def rss(view: PublicView, links: Links, base_url: str) -> bytes:
    """RSS 2.0; ``base_url`` is where ``links`` are served (for full addresses)."""
    w = words(view)
    name = page_name(view)
    root = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS})
    channel = _sub(root, "channel")
    _sub(channel, "title", w("feed_title", name=name))
    _sub(channel, "link", absolute(base_url, links.index()))
    _sub(channel, "description", w("feed_description", name=name))
    _sub(channel, "language", w.locale)
    self_url = absolute(base_url, links.feed("rss"))
    _sub(channel, "atom:link", href=self_url, rel="self", type="application/rss+xml")
    _sub(channel, "lastBuildDate", format_datetime(_last_change(view).astimezone(UTC), True))
    for incident in _entries(view):
        item = _sub(channel, "item")
        _sub(item, "title", str(incident.get("name") or ""))
        _sub(item, "link", _link(incident, links, base_url))
        _sub(item, "guid", _tag(view, incident), isPermaLink="false")
        _sub(item, "pubDate", format_datetime(_published(incident).astimezone(UTC), True))
        _sub(item, "category", w(f"impact.{incident.get('impact')}"))
        _sub(item, "description", _content(incident, w))
    return _xml(root)


def atom(view: PublicView, links: Links, base_url: str) -> bytes:
    """Atom 1.0; ``base_url`` is where ``links`` are served (for full addresses)."""
    w = words(view)
    name = page_name(view)
    root = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": w.locale})
    self_url = absolute(base_url, links.feed("atom"))
    _sub(root, "id", self_url)
    _sub(root, "title", w("feed_title", name=name))
    _sub(root, "subtitle", w("feed_description", name=name))
    _sub(root, "link", rel="alternate", type="text/html", href=absolute(base_url, links.index()))
    _sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(root, "updated", _last_change(view).astimezone(UTC).isoformat())
    _sub(_sub(root, "author"), "name", name)
    for incident in _entries(view):
        entry = _sub(root, "entry")
        _sub(entry, "id", _tag(view, incident))
        _sub(entry, "published", _published(incident).astimezone(UTC).isoformat())
        _sub(entry, "updated", _updated(incident).astimezone(UTC).isoformat())
        _sub(
            entry, "link", rel="alternate", type="text/html", href=_link(incident, links, base_url)
        )
        _sub(entry, "title", str(incident.get("name") or ""))
        _sub(entry, "content", _content(incident, w), type="html")
    return _xml(root)
