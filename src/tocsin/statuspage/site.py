"""The public doors: the status page at ``/status`` (its history, one page per incident,
the RSS and Atom feeds, the stylesheet) and Statuspage's ``/api/v2/*.json``.

No authentication: everything here is the public surface (:mod:`.surface`), rendered from
the public view only and served from :class:`~.cache.PublicCache`. Answers carry an ETag,
so that readers and proxies revalidate with a cheap 304.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tocsin.auth.deps import context_of
from tocsin.errors import NotFound
from tocsin.statuspage import page
from tocsin.statuspage.cache import PublicCache
from tocsin.statuspage.links import ATOM, HISTORY, INDEX, RSS, SAFE_ID, Links, incident_file
from tocsin.statuspage.public import DOCUMENTS
from tocsin.statuspage.surface import API

router = APIRouter(include_in_schema=False)
#: Benchmarks only (``bench/statuspage.py``): mounted with ``TOCSIN_BENCH_BARE_ENDPOINT``.
bench_router = APIRouter(include_in_schema=False)
HEADERS = {
    "Cache-Control": "public, no-cache",
    "Vary": "Accept-Encoding",
    "X-Content-Type-Options": "nosniff",
}


def cache_of(request: Request) -> PublicCache:
    """The app's cache of the public surface (one per app, made on first use)."""
    state = request.app.state
    cache: PublicCache | None = getattr(state, "statuspage_cache", None)
    if cache is None:
        settings = context_of(request).settings
        cache = PublicCache(
            base_url=settings.public_url, recheck=settings.statuspage_recheck_seconds
        )
        state.statuspage_cache = cache
    return cache


def wants_html(request: Request) -> bool:
    """A browser (it asks for HTML, not JSON): the subscribers' doors answer it a page."""
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and "application/json" not in accept


async def notice(
    request: Request, kind: str, *, status: int = 200, detail: str | None = None
) -> HTMLResponse:
    """A page for a subscriber's browser (see :func:`page.notice`), in the page's language."""
    view = await cache_of(request).view(context_of(request))
    html = page.notice(view, kind, Links(), detail)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def serve(request: Request, path: str) -> Response:
    """The surface's file at ``path``, or 304 if the client has it already."""
    found = await cache_of(request).file(context_of(request), path)
    if found is None:
        raise NotFound(f"no such page on the status page: {request.url.path}")
    body, etag, headers = found.body, found.etag, dict(HEADERS)
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, etag = found.gzipped, found.etag[:-1] + '-gzip"'
        headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=found.media_type, headers=headers)


#: HEAD too: uptime monitors ask so (and the server sends no body).
READ = ["GET", "HEAD"]
#: The fixed addresses of the live surface and the file of the surface each serves.
FIXED = {
    "/status": INDEX,
    "/status/": INDEX,
    "/status/history": HISTORY,
    "/status/history.rss": RSS,
    "/status/history.atom": ATOM,
    **{f"/{API}{name}": API + name for name in DOCUMENTS},
}


def _fixed(path: str, file: str) -> None:
    async def page(request: Request) -> Response:
        return await serve(request, file)

    page.__name__ = "public_" + "".join(c if c.isalnum() else "_" for c in path)
    router.add_api_route(path, page, methods=READ)


for _path, _file in FIXED.items():
    _fixed(_path, _file)


@router.api_route("/status/incidents/{incident_id}", methods=READ)
async def incident(request: Request, incident_id: str) -> Response:
    if not SAFE_ID.match(incident_id):
        raise NotFound(f"no incident {incident_id!r} on the status page")
    return await serve(request, incident_file(incident_id))


@router.api_route("/status/assets/{name}", methods=READ)
async def asset(request: Request, name: str) -> Response:
    return await serve(request, f"assets/{name}")


@bench_router.get("/bench/bare/{size}")
async def bare(size: int) -> Response:
    """The server stack alone, as the baseline of the status page's doors: ``size`` bytes
    from memory (a request no larger than the page it stands for), no database."""
    return Response(_filler(min(max(size, 0), 4_000_000)), media_type="text/html")


_FILLERS: dict[int, bytes] = {}


def _filler(size: int) -> bytes:
    if size not in _FILLERS:
        _FILLERS.clear()
        _FILLERS[size] = b"x" * size
    return _FILLERS[size]
