"""What every page's door shares: the form body, who is signed in, the words before
sign-in, the way to the sign-in page and the error page."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from tocsin.context import Context
from tocsin.errors import TocsinError
from tocsin.policy import service as policies
from tocsin.web import render
from tocsin.web import session as sessions
from tocsin.web.strings import Words
from tocsin.web.viewer import Viewer, viewer_of

Form = tuple[dict[str, str], dict[str, list[str]]]


async def form_of(request: Request) -> Form:
    """An url-encoded form body: the last value of each field, and every value."""
    pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    many: dict[str, list[str]] = {}
    for name, value in pairs:
        many.setdefault(name, []).append(value)
    return dict(pairs), many


async def viewer_for(ctx: Context, request: Request) -> tuple[sessions.WebSession, Viewer] | None:
    """The signed-in person's session and view, or None."""
    async with ctx.db.read() as session:
        web = await sessions.resume(session, request.cookies.get(sessions.COOKIE), clock=ctx.clock)
        if web is None:
            return None
        return web, viewer_of(web, await policies.current_policy(session))


async def policy_words(ctx: Context) -> Words:
    """The policy's locale and zone (for pages before sign-in)."""
    async with ctx.db.read() as session:
        try:
            org = (await policies.current_policy(session)).organization
        except TocsinError:
            return Words("en", "UTC")
    return Words(org.locale, org.timezone)


def to_login(request: Request) -> RedirectResponse:
    """To the sign-in page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def error_page(exc: TocsinError, words: Words, viewer: Viewer | None) -> Response:
    title = {403: "forbidden", 404: "not_found"}.get(exc.status, "error")
    data = {"title": words(title), "message": exc.message}
    return render.html("error.html", data, words=words, viewer=viewer, status=exc.status)
