"""Doors of the console's oncall pages: parse, call a view or a service, render.

``/oncall`` (every schedule now), ``/oncall/{schedule}?view=week|month&start=YYYY-MM-DD``
(shifts, overrides, the override form), ``/oncall/people/{person}`` (next shifts) and the
posts: an override, a calendar feed, revoking a feed. Every post carries the session's
CSRF token; the on-call service judges the permission (``manage-schedules``, or oneself).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from tocsin.auth.deps import context_of
from tocsin.context import Context
from tocsin.errors import TocsinError
from tocsin.oncall import service as oncall
from tocsin.web import render
from tocsin.web import session as sessions
from tocsin.web.oncall import views
from tocsin.web.pages import error_page, form_of, policy_words, to_login, viewer_for
from tocsin.web.viewer import Viewer

router = APIRouter(include_in_schema=False)


async def _schedule(
    ctx: Context,
    viewer: Viewer,
    key: str,
    *,
    view: str,
    start: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    extra = extra or {}
    try:
        async with ctx.db.read() as session:
            data = await views.schedule_page(
                session,
                viewer,
                key,
                clock=ctx.clock,
                view=view,
                start=start,
                typed=extra.get("typed"),
                errors=extra.get("errors"),
            )
            data["feeds"] = await views.feeds(session, viewer, "schedule", data["schedule"]["key"])
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    if "period" in data["errors"] and status == 200 and not extra:
        status = 422
    data["new_feed"] = extra.get("new_feed")
    return render.html(
        "oncall/schedule.html", data, words=viewer.words, viewer=viewer, status=status
    )


@router.get("/oncall")
async def oncall_overview(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    viewer = found[1]
    try:
        async with ctx.db.read() as session:
            data = await views.overview(session, viewer, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    return render.html("oncall/overview.html", data, words=viewer.words, viewer=viewer)


@router.get("/oncall/people/{person}")
async def person_page(person: str, request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    viewer = found[1]
    return await _person(ctx, viewer, person)


async def _person(
    ctx: Context, viewer: Viewer, person: str, new_feed: str | None = None
) -> Response:
    try:
        async with ctx.db.read() as session:
            data = await views.person_page(session, viewer, person, clock=ctx.clock)
            data["feeds"] = await views.feeds(session, viewer, "person", data["person"]["handle"])
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    data["new_feed"] = new_feed
    return render.html("oncall/person.html", data, words=viewer.words, viewer=viewer)


@router.get("/oncall/{key}")
async def schedule_page(key: str, request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    query = request.query_params
    return await _schedule(
        ctx,
        found[1],
        key,
        view=query.get("view", "week"),
        start=query.get("start", "")[:40],
    )


async def _checked(ctx: Context, request: Request) -> tuple[dict[str, str], Any, Response | None]:
    """The form, the session and viewer, or the 403 page of a post without a valid token."""
    form, _ = await form_of(request)
    found = await viewer_for(ctx, request)
    try:
        sessions.check_csrf(found[0] if found else None, form.get("csrf"))
    except TocsinError as exc:
        words = found[1].words if found else await policy_words(ctx)
        return form, found, error_page(exc, words, found[1] if found else None)
    return form, found, None


@router.post("/oncall/{key}/overrides")
async def add_override(key: str, request: Request) -> Response:
    """Success goes to the week of the override's start; a refusal shows the schedule again
    with each message beside its field and what was typed kept (422, 403, 404)."""
    ctx = context_of(request)
    form, found, refused = await _checked(ctx, request)
    if refused is not None:
        return refused
    web, viewer = found
    view, start = form.get("view", "week"), form.get("period", "")[:40]
    typed = {name: form.get(name, "")[:2000] for name in views.FIELDS}
    try:
        body = views.override_in(form, viewer.words)
        async with ctx.db.write() as session:
            made = await oncall.add_override(session, web.actor, key, body, clock=ctx.clock)
    except (ValidationError, TocsinError) as exc:
        if isinstance(exc, TocsinError) and exc.status == 404:
            return error_page(exc, viewer.words, viewer)
        status = 422 if isinstance(exc, ValidationError) else exc.status
        extra = {"typed": typed, "errors": views.errors_of(exc)}
        return await _schedule(ctx, viewer, key, view=view, start=start, extra=extra, status=status)
    day = made.start.astimezone(ZoneInfo(viewer.words.zone)).date()
    monday = date.fromordinal(day.toordinal() - day.weekday())
    query = urlencode({"view": "week", "start": monday.isoformat()})
    return RedirectResponse(
        f"/oncall/{quote(made.schedule)}?{query}#override-{made.id}", status_code=303
    )


@router.post("/oncall/{key}/overrides/{override_id}/cancel")
async def cancel_override(key: str, override_id: int, request: Request) -> Response:
    """Cancel an override that has not ended (its maker, or ``manage-schedules``); a
    refusal shows the schedule again with the message beside that override."""
    ctx = context_of(request)
    form, found, refused = await _checked(ctx, request)
    if refused is not None:
        return refused
    web, viewer = found
    view, start = form.get("view", "week"), form.get("period", "")[:40]
    try:
        async with ctx.db.write() as session:
            await oncall.cancel_override(
                session, web.actor, override_id, clock=ctx.clock, schedule=key
            )
    except TocsinError as exc:
        if exc.status == 404:
            return error_page(exc, viewer.words, viewer)
        extra = {"errors": {f"override-{override_id}": exc.message}}
        return await _schedule(
            ctx, viewer, key, view=view, start=start, extra=extra, status=exc.status
        )
    query = urlencode({"view": view, "start": start} if start else {"view": view})
    return RedirectResponse(f"/oncall/{quote(key)}?{query}#overrides", status_code=303)


def _feed_url(request: Request, secret: str) -> str:
    return str(request.url_for("calendar_feed", secret=secret))


@router.post("/oncall/{key}/feeds")
async def schedule_feed(key: str, request: Request) -> Response:
    """A calendar feed of the schedule; its secret address is shown this once."""
    ctx = context_of(request)
    form, found, refused = await _checked(ctx, request)
    if refused is not None:
        return refused
    web, viewer = found
    try:
        async with ctx.db.write() as session:
            _, secret = await oncall.create_feed(session, web.actor, clock=ctx.clock, schedule=key)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    extra = {"new_feed": _feed_url(request, secret)}
    view, start = form.get("view", "week"), form.get("period", "")[:40]
    return await _schedule(ctx, viewer, key, view=view, start=start, extra=extra)


@router.post("/oncall/people/{person}/feeds")
async def person_feed(person: str, request: Request) -> Response:
    """A calendar feed of one person's shifts; its secret address is shown this once."""
    ctx = context_of(request)
    _, found, refused = await _checked(ctx, request)
    if refused is not None:
        return refused
    web, viewer = found
    try:
        async with ctx.db.write() as session:
            _, secret = await oncall.create_feed(session, web.actor, clock=ctx.clock, person=person)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    return await _person(ctx, viewer, person, new_feed=_feed_url(request, secret))


@router.post("/oncall/feeds/{feed_id}/revoke")
async def revoke_feed(feed_id: int, request: Request) -> Response:
    """Revoke one of your feeds and go back to the page it was listed on."""
    ctx = context_of(request)
    form, found, refused = await _checked(ctx, request)
    if refused is not None:
        return refused
    web, viewer = found
    try:
        async with ctx.db.write() as session:
            await oncall.revoke_feed(session, web.actor, feed_id, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    back = form.get("back", "")
    if not back.startswith("/oncall") or back.startswith("//"):
        back = "/oncall"
    return RedirectResponse(back, status_code=303)
