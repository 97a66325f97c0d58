"""REST doors to the comms service: list templates, preview and send a message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from tocsin.auth.deps import ActorDep, ContextDep
from tocsin.comms import schemas
from tocsin.comms import service as comms
from tocsin.comms.render import Rendered
from tocsin.errors import ERROR_RESPONSES, InvalidInput
from tocsin.notify.models import Notification

router = APIRouter(tags=["comms"], responses=ERROR_RESPONSES)

#: Query parameters of the GET preview besides ``update.NAME`` and ``notice.NAME``.
_PREVIEW_PARAMS = ("template", "locale")


def _out(rendered: Rendered) -> schemas.RenderedOut:
    return schemas.RenderedOut(
        template=rendered.template,
        locale=rendered.locale,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )


def _sender_params(request: Request) -> dict[str, str]:
    """``update.progress=...`` and ``notice.reason=...`` from the query string."""
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in _PREVIEW_PARAMS:
            continue
        if not name.startswith(tuple(f"{root}." for root in comms.SENDER_ROOTS)):
            raise InvalidInput(
                f"unknown query parameter {name!r} (known: template, locale, update.NAME, "
                "notice.NAME)",
                details={"location": f"query.{name}"},
            )
        values[name] = value
    return values


@router.get("/templates", response_model=list[schemas.TemplateOut])
async def list_templates(ctx: ContextDep, actor: ActorDep) -> list[schemas.TemplateOut]:
    """Every message template per locale: built in, or the policy's own."""
    async with ctx.db.read() as session:
        found = await comms.templates(session)
    return [schemas.TemplateOut(**vars(t)) for t in found]


@router.get("/incidents/{ref}/comms/preview", response_model=schemas.RenderedOut)
async def preview(
    ref: str,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    template: Annotated[str | None, Query(max_length=64, description="A template key")] = None,
    locale: Annotated[str | None, Query(max_length=8)] = None,
) -> schemas.RenderedOut:
    """Render a template with the incident's fields; add ``update.NAME=value`` parameters
    for what the sender fills in (``update.progress=Rolled+back``). ``template`` is
    required (an unknown incident is a 404 first)."""
    fields = _sender_params(request)
    async with ctx.db.read() as session:
        rendered = await comms.preview(
            session,
            actor,
            ref,
            template or "",
            locale=locale,
            update=fields,
            clock=ctx.clock,
            public_url=ctx.settings.public_url,
        )
    return _out(rendered)


@router.post("/incidents/{ref}/comms/preview", response_model=schemas.RenderedOut)
async def preview_post(
    ref: str, body: schemas.PreviewIn, ctx: ContextDep, actor: ActorDep
) -> schemas.RenderedOut:
    """Render a template with the incident's fields and the sender's ``update``."""
    async with ctx.db.read() as session:
        rendered = await comms.preview(
            session,
            actor,
            ref,
            body.template,
            locale=body.locale,
            update=body.update,
            clock=ctx.clock,
            public_url=ctx.settings.public_url,
        )
    return _out(rendered)


def _notification(row: Notification) -> schemas.NotificationOut:
    return schemas.NotificationOut(
        id=row.id,
        channel=row.channel_key,
        kind=row.channel_kind,
        recipient=comms.shown(row.recipient, row.channel_kind),
        status=row.status,
        subject=row.subject,
    )


@router.post(
    "/incidents/{ref}/comms", status_code=201, response_model=list[schemas.NotificationOut]
)
async def send(
    ref: str,
    body: schemas.SendIn,
    ctx: ContextDep,
    actor: ActorDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Send again with the same key and nothing new is queued",
        ),
    ] = None,
) -> list[schemas.NotificationOut]:
    """Render a template and queue it through a channel (permission send-communications)."""
    async with ctx.db.write() as session:
        rows = await comms.send(
            session,
            actor,
            ref,
            body.template,
            channel=body.channel,
            to=body.to,
            locale=body.locale,
            update=body.update,
            clock=ctx.clock,
            public_url=ctx.settings.public_url,
            idempotency_key=idempotency_key or body.idempotency_key,
        )
        return [_notification(row) for row in rows]
