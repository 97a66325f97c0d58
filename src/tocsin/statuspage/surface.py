"""The whole public surface as files: the page, the history, a page per incident, the
feeds, the stylesheet and Statuspage's ``/api/v2`` JSON documents, each rendered from one
:class:`PublicView`. The live app serves these (through :mod:`.cache`) and the static
export writes them, so both show the same thing.

Paths are the export's: ``index.html``, ``history.html``, ``incidents/ID.html``,
``history.rss``, ``history.atom``, ``assets/status.css``, ``api/v2/summary.json``...
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tocsin.statuspage import feeds, page, public
from tocsin.statuspage.links import ATOM, HISTORY, INDEX, RSS, SAFE_ID, Links, incident_file
from tocsin.statuspage.public import PublicView

HTML = "text/html; charset=utf-8"
MEDIA_TYPES = {
    ".html": HTML,
    ".css": "text/css; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/json",
}

#: Where Statuspage's JSON documents are (``public.DOCUMENTS`` names them under it).
API = "api/v2/"


@dataclass(frozen=True)
class Artifact:
    body: bytes
    media_type: str

    @cached_property
    def etag(self) -> str:
        """Computed once: the live doors answer it on every request."""
        return '"' + hashlib.blake2b(self.body, digest_size=12).hexdigest() + '"'

    @cached_property
    def gzipped(self) -> bytes:
        """The body compressed once, for the clients that accept gzip (a phone on a slow
        line gets a tenth of the page's bytes)."""
        return gzip.compress(self.body, compresslevel=6, mtime=0)


def json_bytes(document: Any) -> bytes:
    """JSON as Starlette's ``JSONResponse`` writes it, so that the live answers and the
    exported files are the same bytes."""
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def paths(view: PublicView) -> list[str]:
    """Every file of the surface for this view."""
    ids = [str(i.get("id")) for i in (*view.incidents, *view.scheduled_maintenances)]
    return [
        INDEX,
        HISTORY,
        RSS,
        ATOM,
        *(f"assets/{name}" for name in page.ASSETS),
        *(API + name for name in public.DOCUMENTS),
        *(incident_file(i) for i in ids if SAFE_ID.match(i)),
    ]


def _media_type(path: str) -> str:
    return MEDIA_TYPES.get(path[path.rfind(".") :], "application/octet-stream")


def _body(view: PublicView, path: str, links: Links, base_url: str) -> bytes | str | None:
    if path == INDEX:
        return page.index(view, links)
    if path == HISTORY:
        return page.history(view, links)
    if path == RSS:
        return feeds.rss(view, links, base_url)
    if path == ATOM:
        return feeds.atom(view, links, base_url)
    if path.startswith("assets/"):
        return page.asset(path.removeprefix("assets/"))
    if path.startswith(API):
        document = public.DOCUMENTS.get(path.removeprefix(API))
        return None if document is None else json_bytes(document(view))
    if path.startswith("incidents/") and path.endswith(".html"):
        return page.incident(view, path.removeprefix("incidents/").removesuffix(".html"), links)
    return None


def render(
    view: PublicView, path: str, *, static: bool, base_url: str, subscribe: str | None = None
) -> Artifact | None:
    """The file at ``path``; ``None`` if the surface has none there. ``static``: links
    for the export (relative files) rather than for the live app; ``base_url``: where
    the links are served, for the feeds' full addresses; ``subscribe``: where the page's
    e-mail sign-up form posts (no form without)."""
    links = Links(static=static, depth=path.count("/"), subscribe=subscribe)
    body = _body(view, path, links, base_url)
    if body is None:
        return None
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Artifact(data, _media_type(path))
