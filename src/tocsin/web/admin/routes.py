"""Doors of the console's admin pages: parse, call a view or a service, render.

Every page needs admin rights (others get the 403 page); every post carries the
session's CSRF token, and the services judge permissions again. A secret (a new API
token, an integration key) is shown in the answer that made it and never again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import service as alerts
from tocsin.alerts.schemas import IntegrationIn
from tocsin.auth import service as auth
from tocsin.auth.deps import context_of
from tocsin.auth.permissions import require_admin
from tocsin.auth.schemas import TeamIn, TokenIn, UserIn
from tocsin.context import Context
from tocsin.db import MAX_INT
from tocsin.errors import NotFound, TocsinError
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies
from tocsin.policy.loader import parse_policy
from tocsin.web import render
from tocsin.web import session as sessions
from tocsin.web.admin import views
from tocsin.web.forms import GENERAL, field_errors
from tocsin.web.pages import error_page, form_of, policy_words, to_login, viewer_for
from tocsin.web.viewer import Viewer

router = APIRouter(include_in_schema=False)

Loader = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


async def _viewer(request: Request) -> tuple[Context, Viewer] | Response:
    """The signed-in admin; the sign-in page for nobody, the 403 page for others."""
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    try:
        require_admin(found[1].actor, "the admin pages")
    except TocsinError as exc:
        return error_page(exc, found[1].words, found[1])
    return ctx, found[1]


@dataclass(frozen=True)
class _Post:
    ctx: Context
    web: sessions.WebSession
    viewer: Viewer
    form: dict[str, str]
    many: dict[str, list[str]]


async def _posted(request: Request) -> _Post | Response:
    """A post with its session's CSRF token, by an admin; the 403 page otherwise."""
    ctx = context_of(request)
    form, many = await form_of(request)
    found = await viewer_for(ctx, request)
    try:
        web = sessions.check_csrf(found[0] if found else None, form.get("csrf"))
        require_admin(web.actor, "the admin pages")
    except TocsinError as exc:
        words = found[1].words if found else await policy_words(ctx)
        return error_page(exc, words, found[1] if found else None)
    assert found is not None  # check_csrf refuses a post without a session
    return _Post(ctx, web, found[1], form, many)


async def _page(
    ctx: Context,
    viewer: Viewer,
    template: str,
    load: Loader,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    try:
        async with ctx.db.read() as session:
            data = await load(session)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    data = {"typed": {}, "errors": {}, "notice": "", "shown": None, **data, **extra}
    return render.html(f"admin/{template}", data, words=viewer.words, viewer=viewer, status=status)


def _refused(exc: ValidationError | TocsinError) -> tuple[dict[str, str], int]:
    status = 422 if isinstance(exc, ValidationError) else exc.status
    return field_errors(exc), status


async def _again(
    post: _Post,
    template: str,
    load: Loader,
    exc: ValidationError | TocsinError,
    typed: dict[str, Any],
    beside: tuple[int, str] | None = None,
) -> Response:
    """The form again after a refusal, each message beside its field and what was typed
    kept; ``beside`` puts a refusal of that status next to that field (an unknown name
    typed in, 404, is bad input of the field: 422)."""
    errors, status = _refused(exc)
    if beside and isinstance(exc, TocsinError) and exc.status == beside[0]:
        errors = {beside[1]: exc.message}
        status = 422 if exc.status == 404 else status
    return await _page(
        post.ctx, post.viewer, template, load, status=status, typed=typed, errors=errors
    )


def _back(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def _blank_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- index ---------------------------------------------------------------------------------


@router.get("/admin")
async def admin_index(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    viewer = got[1]
    data = views.index(viewer)
    return render.html("admin/index.html", data, words=viewer.words, viewer=viewer)


# --- people --------------------------------------------------------------------------------


@router.get("/admin/people")
async def people_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    notice = request.query_params.get("done", "")
    return await _page(
        ctx, viewer, "people.html", lambda s: views.people(s, viewer), notice=notice[:300]
    )


@router.post("/admin/people")
async def add_person(request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx, form = post.ctx, post.form
    typed = {**form, "roles": post.many.get("roles", [])}
    typed.pop("password", None)  # never sent back
    try:
        body = UserIn.model_validate(
            {
                "email": form.get("email", "").strip(),
                "name": _blank_none(form.get("name")),
                "admin": form.get("admin") == "yes",
                "roles": post.many.get("roles", []),
                "password": form.get("password") or None,
            }
        )
        async with ctx.db.write() as session:
            policy = await policies.current_policy(session)
            user = await auth.create_user(
                session,
                post.web.actor,
                body.email,
                clock=ctx.clock,
                name=body.name,
                is_admin=body.admin,
                roles=body.roles,
                known_roles=[r.key for r in policy.roles],
                password=body.password,
            )
            email = user.email
    except (ValidationError, TocsinError) as exc:
        load: Loader = lambda s: views.people(s, post.viewer)  # noqa: E731
        return await _again(post, "people.html", load, exc, typed, (409, "email"))
    return _back("/admin/people", done=email)


@router.get("/admin/people/{email}")
async def person_page(email: str, request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    notice = request.query_params.get("done", "")
    return await _page(
        ctx,
        viewer,
        "person.html",
        lambda s: views.person(s, viewer, email),
        notice=notice if notice in ("roles", "password") else "",
    )


@router.post("/admin/people/{email}/roles")
async def change_person(email: str, request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx, form = post.ctx, post.form
    roles = post.many.get("roles", [])
    try:
        async with ctx.db.write() as session:
            policy = await policies.current_policy(session)
            user = await auth.update_user(
                session,
                post.web.actor,
                email,
                clock=ctx.clock,
                roles=roles,
                is_admin=form.get("admin") == "yes",
                active=form.get("active") == "yes",
                known_roles=[r.key for r in policy.roles],
            )
            email = user.email
    except TocsinError as exc:
        typed = {
            "form": "roles",
            "roles": roles,
            "admin": form.get("admin") == "yes",
            "active": form.get("active") == "yes",
        }
        load = lambda s: views.person(s, post.viewer, email)  # noqa: E731
        return await _again(post, "person.html", load, exc, typed)
    return _back(f"/admin/people/{quote(email)}", done="roles")


@router.post("/admin/people/{email}/password")
async def reset_password(email: str, request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx = post.ctx
    try:
        async with ctx.db.write() as session:
            user = await auth.get_user(session, email)
            await auth.set_password(
                session, post.web.actor, user.email, post.form.get("password", ""), clock=ctx.clock
            )
            email = user.email
    except TocsinError as exc:
        load = lambda s: views.person(s, post.viewer, email)  # noqa: E731
        return await _again(post, "person.html", load, exc, {"form": "password"})
    return _back(f"/admin/people/{quote(email)}", done="password")


# --- teams ---------------------------------------------------------------------------------


@router.get("/admin/teams")
async def teams_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    editing = request.query_params.get("team", "")[:64]
    notice = request.query_params.get("done", "")[:64]

    async def load(session: AsyncSession) -> dict[str, Any]:
        data = await views.teams(session, viewer, editing)
        return {**data, "typed": data["editing"]}

    return await _page(ctx, viewer, "teams.html", load, notice=notice)


@router.post("/admin/teams")
async def save_team(request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx, form = post.ctx, post.form
    members = post.many.get("members", [])
    typed = {**form, "members": members}
    try:
        body = TeamIn.model_validate(
            {
                "key": form.get("key", "").strip(),
                "name": form.get("name", "").strip(),
                "description": form.get("description", ""),
                "members": members,
            }
        )
        async with ctx.db.write() as session:
            await auth.save_team(
                session,
                post.web.actor,
                body.key,
                body.name,
                clock=ctx.clock,
                description=body.description,
                members=body.members,
            )
    except (ValidationError, TocsinError) as exc:
        load = lambda s: views.teams(s, post.viewer)  # noqa: E731
        return await _again(post, "teams.html", load, exc, typed, (404, "members"))
    return _back("/admin/teams", done=body.key)


# --- API tokens ----------------------------------------------------------------------------


@router.get("/admin/tokens")
async def tokens_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    done = request.query_params.get("revoked", "")
    notice = done if done.isdigit() and len(done) < 12 else ""
    return await _page(ctx, viewer, "tokens.html", lambda s: views.tokens(s, viewer), notice=notice)


@router.post("/admin/tokens")
async def create_token(request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx, form = post.ctx, post.form
    try:
        body = TokenIn.model_validate(
            {"email": _blank_none(form.get("email")), "name": form.get("name", "").strip()}
        )
        async with ctx.db.write() as session:
            email = body.email or post.web.actor.email
            token, secret = await auth.create_token(
                session, post.web.actor, email, clock=ctx.clock, name=body.name
            )
            shown = {"secret": secret, "id": token.id, "email": email.strip().lower()}
    except (ValidationError, TocsinError) as exc:
        load = lambda s: views.tokens(s, post.viewer)  # noqa: E731
        return await _again(post, "tokens.html", load, exc, form, (404, "email"))
    return await _page(
        ctx, post.viewer, "tokens.html", lambda s: views.tokens(s, post.viewer), shown=shown
    )


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(token_id: int, request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx = post.ctx
    try:
        if not 1 <= token_id <= MAX_INT:
            raise NotFound(f"no token with id {token_id}")
        async with ctx.db.write() as session:
            await auth.revoke_token(session, post.web.actor, token_id, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, post.viewer.words, post.viewer)
    return _back("/admin/tokens", revoked=str(token_id))


# --- policy --------------------------------------------------------------------------------


@router.get("/admin/policy")
async def policy_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    applied = request.query_params.get("applied", "")
    notice = applied if applied.isdigit() and len(applied) < 12 else ""
    return await _page(
        ctx,
        viewer,
        "policy.html",
        lambda s: views.policy_page(s, viewer),
        notice=notice,
        problems=[],
        checked=False,
        changes=None,
    )


@router.get("/admin/policy/{number}")
async def policy_version(number: str, request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    wanted = int(number) if number.isdigit() and len(number) < 10 else 0
    return await _page(
        ctx, viewer, "policy_version.html", lambda s: views.policy_version(s, viewer, wanted)
    )


#: What the console names a policy applied through it (its ``source``).
POLICY_SOURCE = "<console>"


@router.post("/admin/policy")
async def policy_post(request: Request) -> Response:
    """``step``: ``check`` (problems with their line and field), ``apply`` (the diff
    against the current version, to confirm) or ``confirm`` (store it, if the current
    version is still the one the diff was made against)."""
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx, viewer, form = post.ctx, post.viewer, post.form
    content = form.get("content", "").replace("\r\n", "\n")
    step = form.get("step", "check")
    typed = {"content": content}

    async def show(status: int, **extra: Any) -> Response:
        base = {"problems": [], "checked": False, "changes": None, "typed": typed}
        return await _page(
            ctx,
            viewer,
            "policy.html",
            lambda s: views.policy_page(s, viewer),
            status=status,
            **{**base, **extra},
        )

    if not content.strip():
        return await show(422, errors={"content": "paste a policy file's YAML text"})
    _, problems = parse_policy(content, POLICY_SOURCE)
    if problems:
        found = views.problems_text(problems)
        return await show(422, problems=found, errors={"content": "problems"})
    if step == "check":
        return await show(200, checked=True)
    async with ctx.db.read() as session:
        changes = await views.policy_changes(session, viewer, content)
    if step == "confirm":
        base = form.get("base", "")
        if base != str(changes["base"]):
            message = "the current policy changed since you looked; check the new differences"
            return await show(409, changes=changes, errors={GENERAL: message})
        try:
            async with ctx.db.write() as session:
                version, _ = await policies.apply(
                    session, post.web.actor, content, clock=ctx.clock, source=POLICY_SOURCE
                )
                number = version.version
        except TocsinError as exc:
            return await show(exc.status, errors={GENERAL: exc.message})
        return _back("/admin/policy", applied=str(number))
    return await show(200, changes=changes)


# --- integrations --------------------------------------------------------------------------


def _integrations(ctx: Context, viewer: Viewer) -> Loader:
    return lambda s: views.integrations(s, viewer, ctx.settings.public_url)


@router.get("/admin/integrations")
async def integrations_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    return await _page(ctx, viewer, "integrations.html", _integrations(ctx, viewer))


@router.post("/admin/integrations")
async def add_integration(request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx, form = post.ctx, post.form
    try:
        body = IntegrationIn.model_validate(
            {
                "name": form.get("name", ""),
                "type": form.get("type", ""),
                "id": _blank_none(form.get("id")),
                "service": _blank_none(form.get("service")),
                "team": _blank_none(form.get("team")),
            }
        )
        async with ctx.db.write() as session:
            made = await alerts.create_integration(
                session, post.web.actor, body, clock=ctx.clock, public_url=ctx.settings.public_url
            )
    except (ValidationError, TocsinError) as exc:
        return await _again(
            post, "integrations.html", _integrations(ctx, post.viewer), exc, form, (409, "id")
        )
    return await _page(
        ctx, post.viewer, "integrations.html", _integrations(ctx, post.viewer), shown=made
    )


@router.post("/admin/integrations/{ident}/rotate-key")
async def rotate_key(ident: str, request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx = post.ctx
    try:
        async with ctx.db.write() as session:
            made = await alerts.rotate_key(
                session,
                post.web.actor,
                ident[:64],
                clock=ctx.clock,
                public_url=ctx.settings.public_url,
            )
    except TocsinError as exc:
        return await _page(
            ctx,
            post.viewer,
            "integrations.html",
            _integrations(ctx, post.viewer),
            status=exc.status,
            errors={GENERAL: exc.message},
        )
    return await _page(
        ctx, post.viewer, "integrations.html", _integrations(ctx, post.viewer), shown=made
    )


# --- dead jobs -----------------------------------------------------------------------------


@router.get("/admin/jobs")
async def jobs_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    done = request.query_params.get("retried", "")
    notice = done if done.isdigit() and len(done) < 12 else ""
    return await _page(
        ctx, viewer, "jobs.html", lambda s: views.dead_jobs(s, viewer), notice=notice
    )


@router.post("/admin/jobs/{job_id}/retry")
async def retry_job(job_id: int, request: Request) -> Response:
    post = await _posted(request)
    if isinstance(post, Response):
        return post
    ctx = post.ctx
    try:
        if not 1 <= job_id <= MAX_INT:
            raise NotFound(f"no job {job_id}")
        async with ctx.db.write() as session:
            await jobs.retry(session, job_id, clock=ctx.clock, actor=post.web.actor)
    except TocsinError as exc:
        return await _page(
            ctx,
            post.viewer,
            "jobs.html",
            lambda s: views.dead_jobs(s, post.viewer),
            status=exc.status,
            errors={GENERAL: exc.message},
        )
    return _back("/admin/jobs", retried=str(job_id))


# --- audit log -----------------------------------------------------------------------------


@router.get("/admin/audit")
async def audit_page(request: Request) -> Response:
    got = await _viewer(request)
    if isinstance(got, Response):
        return got
    ctx, viewer = got
    query = request.query_params
    before = query.get("before", "")
    filters = views.AuditFilters(
        by=query.get("actor", "").strip()[:254],
        action=query.get("action", "").strip()[:100],
        before=int(before) if before.isdigit() and len(before) < 10 else None,
    )
    return await _page(ctx, viewer, "audit.html", lambda s: views.audit_log(s, viewer, filters))
