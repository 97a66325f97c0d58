"""Where each part of the public surface is, seen from the page being rendered.

The live app serves the page at ``/status`` and the JSON at ``/api/v2/``; the static
export is a tree of plain files (``index.html``, ``history.html``, ``incidents/ID.html``,
``history.rss``, ``assets/status.css``, ``api/v2/summary.json``) linked by relative paths
with explicit file names, so that it works on any static host, under any path prefix, and
even opened from disk. The templates only ever ask a :class:`Links` for an address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

#: Statuspage ids are short strings of letters and digits; only such ids name a file.
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: The export's file of each page (the address of the live page is in :class:`Links`).
INDEX = "index.html"
HISTORY = "history.html"
RSS = "history.rss"
ATOM = "history.atom"
STYLESHEET = "status.css"


def incident_file(incident_id: str) -> str:
    return f"incidents/{incident_id}.html"


@dataclass(frozen=True)
class Links:
    """Addresses for one rendering: live (absolute paths under ``/status``) or static
    (relative to a page ``depth`` folders below the export's root)."""

    static: bool = False
    depth: int = 0
    #: Where the e-mail sign-up form posts; ``None``: the page has no form (sign-ups are
    #: closed). Tocsin's own door, also from the export (which cannot take sign-ups).
    subscribe: str | None = None

    @property
    def _up(self) -> str:
        return "../" * self.depth

    def _live_or_file(self, live: str, file: str) -> str:
        return self._up + file if self.static else live

    def index(self) -> str:
        return self._live_or_file("/status", INDEX)

    def history(self) -> str:
        return self._live_or_file("/status/history", HISTORY)

    def incident(self, incident_id: str) -> str | None:
        """The incident's own page; ``None`` for an id that cannot name a file."""
        if not SAFE_ID.match(incident_id):
            return None
        return self._live_or_file(f"/status/incidents/{incident_id}", incident_file(incident_id))

    def feed(self, kind: str) -> str:
        file = RSS if kind == "rss" else ATOM
        return self._live_or_file(f"/status/{file}", file)

    def asset(self, name: str) -> str:
        return self._live_or_file(f"/status/assets/{name}", f"assets/{name}")

    def api(self, name: str) -> str:
        """``api("summary")``: the Statuspage JSON document ``/api/v2/summary.json``."""
        return self._live_or_file(f"/api/v2/{name}.json", f"api/v2/{name}.json")

    def nested(self, depth: int) -> Links:
        """The same kind of links, seen from a page ``depth`` folders down."""
        return Links(static=self.static, depth=depth, subscribe=self.subscribe)


def absolute(base_url: str, href: str) -> str:
    """``href`` (a live path, or a file from the export's root) as a full URL under
    ``base_url``, for the feeds."""
    if href.startswith("/"):
        return base_url.rstrip("/") + href
    return urljoin(base_url.rstrip("/") + "/", href)
