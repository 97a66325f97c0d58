"""The responder console's doors: sign-in, the incident list, declaring, the incident
room and its live updates. Parse the form, call a view or an action, render; every post
carries the session's CSRF token, and the services judge permissions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from tocsin.auth.deps import context_of
from tocsin.context import Context
from tocsin.errors import TocsinError
from tocsin.incidents import numbering, schemas
from tocsin.incidents import service as incidents
from tocsin.web import actions, live, render, views
from tocsin.web import session as sessions
from tocsin.web.admin.routes import router as admin_pages
from tocsin.web.forms import field_errors
from tocsin.web.oncall.routes import router as oncall_pages
from tocsin.web.pages import error_page, form_of, policy_words, to_login, viewer_for
from tocsin.web.postmortems.routes import router as postmortem_pages
from tocsin.web.reports.routes import router as report_pages
from tocsin.web.strings import Words
from tocsin.web.viewer import Viewer

router = APIRouter(include_in_schema=False)


def _cookie_options(ctx: Context) -> dict[str, Any]:
    secure = ctx.settings.public_url.lower().startswith("https://")
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//elsewhere``)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/incidents"


_STALE_FORM = "the form's security token is missing or wrong; reload the page"


# --- signing in and out -------------------------------------------------------------------


def _login_page(
    ctx: Context,
    words: Words,
    *,
    email: str = "",
    next_: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    token = sessions.new_login_token()
    data = {"email": email, "next": _safe_next(next_), "error": error, "login_token": token}
    answer = render.html("login.html", data, words=words, status=status)
    answer.set_cookie(sessions.LOGIN_COOKIE, token, **_cookie_options(ctx))
    return answer


@router.get("/login")
async def loginform_of(request: Request) -> Response:
    ctx = context_of(request)
    return _login_page(ctx, await policy_words(ctx), next_=request.query_params.get("next", ""))


@router.post("/login")
async def login(request: Request) -> Response:
    ctx = context_of(request)
    form, _ = await form_of(request)
    words = await policy_words(ctx)
    email, next_ = form.get("email", ""), form.get("next", "")
    if not sessions.login_token_ok(request.cookies.get(sessions.LOGIN_COOKIE), form.get("csrf")):
        return _login_page(ctx, words, email=email, next_=next_, error=_STALE_FORM, status=403)
    try:
        async with ctx.db.write() as session:
            cookie, _ = await sessions.sign_in(
                session, email, form.get("password", ""), clock=ctx.clock
            )
    except TocsinError as exc:
        return _login_page(
            ctx, words, email=email, next_=next_, error=exc.message, status=exc.status
        )
    answer = RedirectResponse(_safe_next(next_), status_code=303)
    answer.set_cookie(sessions.COOKIE, cookie, **_cookie_options(ctx))
    answer.delete_cookie(sessions.LOGIN_COOKIE, path="/")
    return answer


@router.post("/logout")
async def logout(request: Request) -> Response:
    ctx = context_of(request)
    form, _ = await form_of(request)
    found = await viewer_for(ctx, request)
    try:
        web = sessions.check_csrf(found[0] if found else None, form.get("csrf"))
        async with ctx.db.write() as session:
            await sessions.sign_out(session, web, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, await policy_words(ctx), found[1] if found else None)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(sessions.COOKIE, path="/")
    return answer


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/incidents", status_code=303)


@router.get("/web/static/{name}")
async def static(name: str) -> Response:
    return render.static(name)


# --- the incident list and declaring -----------------------------------------------------


@router.get("/incidents")
async def incident_list(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    viewer = found[1]
    query = request.query_params
    filters = views.ListFilters(
        status=[s for s in query.getlist("status") if s],
        severity=[s for s in query.getlist("severity") if s],
        type=[s for s in query.getlist("type") if s],
        team=[s for s in query.getlist("team") if s],
        q=query.get("q", "")[:200],
        since=query.get("since", ""),
        until=query.get("until", ""),
    )
    try:
        async with ctx.db.read() as session:
            data = await views.incident_list(session, viewer, filters, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    return render.html("list.html", data, words=viewer.words, viewer=viewer)


@router.get("/incidents/events")
async def list_events(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return Response(status_code=401)
    after = _last_id(request)
    stream = live.list_stream(
        ctx, found[0].actor, after, gone=request.is_disconnected, polls=live.MAX_POLLS
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers=_SSE)


_SSE = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _last_id(request: Request) -> int:
    text = request.headers.get("last-event-id") or request.query_params.get("after", "")
    return int(text) if text.isdigit() and len(text) < 12 else 0


@router.get("/incidents/new")
async def declare_form(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    async with ctx.db.read() as session:
        data = await views.declare_form(session, found[1])
    return render.html("declare.html", data, words=found[1].words, viewer=found[1])


def _declared(form: dict[str, str], many: dict[str, list[str]]) -> dict[str, Any]:
    """The form as the API's declare body takes it (empty fields left out)."""
    impact: dict[str, Any] = {"business_impact": form.get("business_impact", "")}
    if form.get("users_affected", "").strip():
        impact["users_affected"] = form["users_affected"].strip()
    return {
        "title": form.get("title", ""),
        "severity": form.get("severity", ""),
        "type": form.get("type") or None,
        "summary": form.get("summary", ""),
        "components": many.get("components", []),
        "impact": impact,
    }


@router.post("/incidents/new")
async def declare(request: Request) -> Response:
    ctx = context_of(request)
    form, many = await form_of(request)
    found = await viewer_for(ctx, request)
    typed = {**form, "components": many.get("components", [])}
    try:
        web = sessions.check_csrf(found[0] if found else None, form.get("csrf"))
        body = schemas.DeclareIn.model_validate(_declared(form, many))
        async with numbering.turn(), ctx.db.write() as session:
            incident = await incidents.declare(session, web.actor, body, clock=ctx.clock)
            ref = incident.ref
    except ValidationError as exc:
        return await _declare_again(ctx, found, typed, field_errors(exc), 422)
    except TocsinError as exc:
        if exc.status in (401, 403) or found is None:
            return error_page(exc, await policy_words(ctx), found[1] if found else None)
        return await _declare_again(ctx, found, typed, field_errors(exc), exc.status)
    return RedirectResponse(f"/incidents/{ref}", status_code=303)


async def _declare_again(
    ctx: Context, found: Any, typed: dict[str, Any], errors: dict[str, str], status: int
) -> Response:
    viewer: Viewer = found[1]
    async with ctx.db.read() as session:
        data = await views.declare_form(session, viewer, typed, errors)
    return render.html("declare.html", data, words=viewer.words, viewer=viewer, status=status)


# --- the incident room -------------------------------------------------------------------


async def _room(
    ctx: Context, viewer: Viewer, ref: str, show: list[str], extra: dict[str, Any], status: int
) -> Response:
    try:
        async with ctx.db.read() as session:
            data = await views.room(session, viewer, ref, clock=ctx.clock, show=show)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    data.update(extra)
    return render.html("room.html", data, words=viewer.words, viewer=viewer, status=status)


_NOTHING: dict[str, Any] = {
    "errors": {},
    "action": "",
    "typed": {},
    "preview": None,
    "sent": None,
    "drafted": None,
}


@router.get("/incidents/{ref}")
async def incident_room(ref: str, request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    return await _room(ctx, found[1], ref, request.query_params.getlist("show"), _NOTHING, 200)


@router.get("/incidents/{ref}/events")
async def room_events(ref: str, request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return Response(status_code=401)
    actor = found[0].actor
    try:
        async with ctx.db.read() as session:
            ref = (await incidents.get(session, actor, ref)).ref
    except TocsinError as exc:
        return error_page(exc, found[1].words, found[1])
    stream = live.room_stream(
        ctx, actor, ref, _last_id(request), gone=request.is_disconnected, polls=live.MAX_POLLS
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers=_SSE)


@router.post("/incidents/{ref}/actions/{name}")
async def act(ref: str, name: str, request: Request) -> Response:
    """One action; success goes back to the room (303), a refusal shows the room again
    with the message next to the form and the refusal's status (403, 409, 422)."""
    ctx = context_of(request)
    form, _ = await form_of(request)
    found = await viewer_for(ctx, request)
    try:
        web = sessions.check_csrf(found[0] if found else None, form.get("csrf"))
    except TocsinError as exc:
        words = found[1].words if found else await policy_words(ctx)
        return error_page(exc, words, found[1] if found else None)
    viewer = found[1] if found else None
    assert viewer is not None  # check_csrf refuses a post without a session
    try:
        action = actions.find(name)
        async with ctx.db.write() as session:
            shown = await action(session, web.actor, ref, form, ctx)
    except (ValidationError, TocsinError) as exc:
        status = 422 if isinstance(exc, ValidationError) else exc.status
        extra = {**_NOTHING, "errors": field_errors(exc), "action": name, "typed": form}
        return await _room(ctx, viewer, ref, [], extra, status)
    if shown:
        extra = {**_NOTHING, "typed": form, **shown, "action": name}
        return await _room(ctx, viewer, ref, [], extra, 200)
    return RedirectResponse(f"/incidents/{quote(ref)}#{name}", status_code=303)


# --- the other pages, each group in its own package ------------------------------------

for _group in (oncall_pages, postmortem_pages, report_pages, admin_pages):
    router.include_router(_group)
