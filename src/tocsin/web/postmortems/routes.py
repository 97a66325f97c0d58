"""Doors of the console's postmortems pages: parse, call a view or a service, render.

``/postmortems`` lists them, ``/postmortems/{ref}`` shows one with a form per section,
its review and its action items, ``/action-items`` lists action items across incidents.
Every post carries the session's CSRF token and goes through the postmortems service,
which checks the permissions as it does for the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.auth.deps import context_of
from tocsin.context import Context
from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.postmortems import actions, schemas, service
from tocsin.web import render
from tocsin.web import session as sessions
from tocsin.web.forms import GENERAL, field_errors
from tocsin.web.pages import error_page, form_of, policy_words, to_login, viewer_for
from tocsin.web.postmortems import views
from tocsin.web.viewer import Viewer

router = APIRouter(include_in_schema=False)

Form = dict[str, str]
Change = Callable[[AsyncSession, Actor, str, Form, Context], Awaitable[str]]


def _number(form: Form) -> int:
    text = form.get("number", "")
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput(f"no action item {text!r}", details={"field": GENERAL})
    return int(text)


def _blank_none(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


# --- the changes a postmortem page posts: each returns the page's anchor to go back to ----


async def _create(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    body = schemas.CreateIn(template=_blank_none(form.get("template")))
    await service.create(session, actor, ref, body, clock=ctx.clock)
    return "document"


async def _title(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    body = schemas.SectionsIn(title=form.get("title", "").strip())
    await service.update_sections(session, actor, ref, body, clock=ctx.clock)
    return "document"


async def _section(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    key = form.get("key", "")
    body = schemas.SectionsIn(sections={key: form.get("body", "")})
    await service.update_sections(session, actor, ref, body, clock=ctx.clock)
    return f"section-{key}"


async def _reviewer_add(
    session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context
) -> str:
    email = form.get("email", "").strip()
    if not email:
        raise InvalidInput("name the reviewer's e-mail address", details={"field": "email"})
    _, postmortem = await service.get(session, actor, ref)
    body = schemas.StatusIn.model_validate({"status": postmortem.status, "reviewers": [email]})
    await service.set_status(session, actor, ref, body, clock=ctx.clock)
    return "review"


async def _reviewer_remove(
    session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context
) -> str:
    await service.remove_reviewer(session, actor, ref, form.get("email", ""), clock=ctx.clock)
    return "review"


async def _status(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    reviewers = [e for e in (form.get("reviewers", "").replace(",", " ").split()) if e]
    body = schemas.StatusIn.model_validate({"status": form.get("status"), "reviewers": reviewers})
    await service.set_status(session, actor, ref, body, clock=ctx.clock)
    return "review"


async def _approve(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    await service.approve(session, actor, ref, clock=ctx.clock)
    return "review"


async def _item_add(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    body = schemas.ActionItemIn.model_validate(
        {
            "title": form.get("title", "").strip(),
            "owner": form.get("owner", "").strip(),
            "team": _blank_none(form.get("team")),
            "priority": _blank_none(form.get("priority")),
            "due_on": _blank_none(form.get("due_on")),
            "url": _blank_none(form.get("url")),
            "description": form.get("description", ""),
        }
    )
    await actions.add(session, actor, ref, body, clock=ctx.clock)
    return "action-items"


async def _item(session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context) -> str:
    """Edit an item: only what the form holds; the due date only when it was changed
    (an instant from the API stays as it was)."""
    number = _number(form)
    data: dict[str, Any] = {
        "title": form.get("title", "").strip(),
        "owner": form.get("owner", "").strip(),
        "team": _blank_none(form.get("team")),
        "priority": _blank_none(form.get("priority")),
        "url": _blank_none(form.get("url")),
        "description": form.get("description", ""),
        "status": _blank_none(form.get("status")),
    }
    if form.get("due_on", "") != form.get("due_was", ""):
        data["due_on"] = _blank_none(form.get("due_on"))
        if data["due_on"] is None:
            data["due_at"] = None
    body = schemas.ActionItemPatch.model_validate(data)
    await actions.update(session, actor, ref, number, body, clock=ctx.clock)
    return f"item-{number}"


async def _item_close(
    session: AsyncSession, actor: Actor, ref: str, form: Form, ctx: Context
) -> str:
    number = _number(form)
    body = schemas.ActionItemPatch.model_validate({"status": form.get("status", "done")})
    await actions.update(session, actor, ref, number, body, clock=ctx.clock)
    return f"item-{number}"


CHANGES: dict[str, Change] = {
    "create": _create,
    "title": _title,
    "section": _section,
    "reviewer-add": _reviewer_add,
    "reviewer-remove": _reviewer_remove,
    "status": _status,
    "approve": _approve,
    "item-add": _item_add,
    "item": _item,
    "item-close": _item_close,
}


# --- the list of postmortems and one postmortem ---------------------------------------------


@router.get("/postmortems")
async def postmortem_list(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    viewer = found[1]
    statuses = [s for s in request.query_params.getlist("status") if s]
    async with ctx.db.read() as session:
        data = await views.postmortem_list(session, viewer, statuses, clock=ctx.clock)
    return render.html("postmortems/list.html", data, words=viewer.words, viewer=viewer)


_NOTHING: dict[str, Any] = {"errors": {}, "action": "", "typed": {}}


async def _page(
    ctx: Context, viewer: Viewer, ref: str, extra: dict[str, Any], status: int
) -> Response:
    try:
        async with ctx.db.read() as session:
            data = await views.postmortem_page(session, viewer, ref, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    data.update(extra)
    template = "postmortems/missing.html" if data["missing"] else "postmortems/postmortem.html"
    return render.html(template, data, words=viewer.words, viewer=viewer, status=status)


@router.get("/postmortems/{ref}")
async def postmortem_page(ref: str, request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    return await _page(ctx, found[1], ref, _NOTHING, 200)


_REVIEWERS = ("reviewer-add", "reviewer-remove")


def _field_of(name: str, errors: dict[str, str]) -> dict[str, str]:
    """A section's messages belong next to its text."""
    if name == "section":
        return {"body": next(iter(errors.values()))}
    if name in _REVIEWERS:
        return {"email": next(iter(errors.values()))}
    return errors


@router.post("/postmortems/{ref}/actions/{name}")
async def change(ref: str, name: str, request: Request) -> Response:
    """One change; success goes back to the page (303), a refusal shows the page again
    with the message next to the field, what was typed kept, and the refusal's status."""
    ctx = context_of(request)
    form, _ = await form_of(request)
    found = await viewer_for(ctx, request)
    try:
        web = sessions.check_csrf(found[0] if found else None, form.get("csrf"))
    except TocsinError as exc:
        words = found[1].words if found else await policy_words(ctx)
        return error_page(exc, words, found[1] if found else None)
    assert found is not None  # check_csrf refuses a post without a session
    viewer = found[1]
    action = CHANGES.get(name)
    if action is None:
        return error_page(NotFound(f"no change {name!r}"), viewer.words, viewer)
    try:
        async with ctx.db.write() as session:
            anchor = await action(session, web.actor, ref, form, ctx)
    except (ValidationError, TocsinError) as exc:
        status = 422 if isinstance(exc, ValidationError) else exc.status
        if isinstance(exc, TocsinError) and status == 404 and name in _REVIEWERS:
            status = 422  # an unknown person, or not a reviewer: the field is wrong
        elif isinstance(exc, TocsinError) and status in (401, 403, 404):
            return error_page(exc, viewer.words, viewer)
        extra = {"errors": _field_of(name, field_errors(exc)), "action": name, "typed": form}
        return await _page(ctx, viewer, ref, extra, status)
    return RedirectResponse(f"/postmortems/{quote(ref.strip().upper())}#{anchor}", status_code=303)


# --- action items across incidents -------------------------------------------------------


def _filters(query: Any) -> views.ItemFilters:
    return views.ItemFilters(
        status=[s for s in query.getlist("status") if s],
        owner=query.get("owner", "")[:254].strip(),
        team=query.get("team", "")[:64].strip(),
        incident=query.get("incident", "")[:64].strip(),
        overdue=query.get("overdue", "") not in ("", "0"),
    )


async def _items_page(
    ctx: Context, viewer: Viewer, filters: views.ItemFilters, errors: dict[str, str], status: int
) -> Response:
    try:
        async with ctx.db.read() as session:
            data = await views.action_items(session, viewer, filters, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    data["errors"] = errors
    return render.html(
        "postmortems/action_items.html", data, words=viewer.words, viewer=viewer, status=status
    )


@router.get("/action-items")
async def action_items(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    return await _items_page(ctx, found[1], _filters(request.query_params), {}, 200)


@router.post("/action-items/done")
async def item_done(request: Request) -> Response:
    """Mark an item done from the list; back to the list as it was filtered."""
    ctx = context_of(request)
    form, _ = await form_of(request)
    found = await viewer_for(ctx, request)
    try:
        web = sessions.check_csrf(found[0] if found else None, form.get("csrf"))
    except TocsinError as exc:
        words = found[1].words if found else await policy_words(ctx)
        return error_page(exc, words, found[1] if found else None)
    assert found is not None
    viewer = found[1]
    back = form.get("back", "")
    try:
        async with ctx.db.write() as session:
            await _item_close(session, web.actor, form.get("incident", ""), form, ctx)
    except (ValidationError, TocsinError) as exc:
        if isinstance(exc, TocsinError) and exc.status in (401, 403, 404):
            return error_page(exc, viewer.words, viewer)
        status = 422 if isinstance(exc, ValidationError) else exc.status
        errors = {GENERAL: next(iter(field_errors(exc).values()))}
        filters = _filters(_Query(back))
        return await _items_page(ctx, viewer, filters, errors, status)
    return RedirectResponse("/action-items" + (f"?{_Query(back).text}" if back else ""), 303)


class _Query:
    """The list's filters sent back in a hidden field, read like a query string."""

    def __init__(self, text: str) -> None:
        self._pairs = parse_qsl(text[:2000], keep_blank_values=False)
        self.text = urlencode(self._pairs)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self._pairs if k == name]

    def get(self, name: str, default: str = "") -> str:
        found = self.getlist(name)
        return found[-1] if found else default
