"""Templates to HTML answers, and the console's two static files."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tocsin.errors import NotFound
from tocsin.web.strings import Words
from tocsin.web.timeline import kind_of
from tocsin.web.viewer import Viewer

#: The files under ``static/``: our own stylesheet and script, nothing third-party.
STATIC = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8"}
#: No inline script or style, no framing, nothing from elsewhere.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tocsin.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.globals["kind_of"] = kind_of
    return env


def html(
    template: str,
    data: dict[str, Any],
    *,
    words: Words,
    viewer: Viewer | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page ``template`` with ``data``, the viewer's words and zone."""
    body = (
        _environment()
        .get_template(template)
        .render(**data, w=words, viewer=viewer, csrf=viewer.csrf if viewer else "")
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def static(name: str) -> Response:
    media = STATIC.get(name)
    if media is None:
        raise NotFound(f"no file {name!r}")
    body = resources.files("tocsin.web").joinpath("static", name).read_bytes()
    return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=300"})
