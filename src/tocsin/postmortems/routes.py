"""REST doors to postmortems and action items. Parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.context import Context
from tocsin.db import MAX_INT
from tocsin.errors import ERROR_RESPONSES
from tocsin.postmortems import actions, schemas, service
from tocsin.postmortems.models import OPEN_ACTION_STATUSES, Postmortem

router = APIRouter(tags=["postmortems"], responses=ERROR_RESPONSES)
_PM = "/incidents/{ref}/postmortem"


async def _answer(
    ctx: Context, ref: str, actor: Any, change: Callable[[AsyncSession], Awaitable[Postmortem]]
) -> schemas.PostmortemOut:
    async with ctx.db.write() as session:
        postmortem = await change(session)
        incident, _ = await service.get(session, actor, ref)
        return await service.describe(session, incident, postmortem, clock=ctx.clock)


@router.post(_PM, status_code=201, response_model=schemas.PostmortemOut)
async def create(
    ref: str, ctx: ContextDep, actor: ActorDep, body: schemas.CreateIn | None = None
) -> schemas.PostmortemOut:
    """Create the incident's postmortem from the policy's template, pre-filled."""
    data = body or schemas.CreateIn()
    return await _answer(
        ctx, ref, actor, lambda s: service.create(s, actor, ref, data, clock=ctx.clock)
    )


@router.get(_PM, response_model=schemas.PostmortemOut)
async def show(ref: str, ctx: ContextDep, actor: ActorDep) -> schemas.PostmortemOut:
    async with ctx.db.read() as session:
        incident, postmortem = await service.get(session, actor, ref)
        return await service.describe(session, incident, postmortem, clock=ctx.clock)


@router.patch(_PM, response_model=schemas.PostmortemOut)
async def edit(
    ref: str, body: schemas.SectionsIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PostmortemOut:
    """New text for sections (by key) and the title."""
    return await _answer(
        ctx, ref, actor, lambda s: service.update_sections(s, actor, ref, body, clock=ctx.clock)
    )


@router.get(_PM + ".md", response_class=PlainTextResponse)
async def export(ref: str, ctx: ContextDep, actor: ActorDep) -> PlainTextResponse:
    async with ctx.db.read() as session:
        text = await service.export_markdown(session, actor, ref)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.post(_PM + "/import", response_model=schemas.PostmortemOut)
async def import_markdown(
    ref: str, body: schemas.ImportIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PostmortemOut:
    """Read an edited Markdown export back into the postmortem."""
    return await _answer(
        ctx,
        ref,
        actor,
        lambda s: service.import_markdown(s, actor, ref, body.markdown, clock=ctx.clock),
    )


@router.post(_PM + "/status", response_model=schemas.PostmortemOut)
async def set_status(
    ref: str, body: schemas.StatusIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PostmortemOut:
    return await _answer(
        ctx, ref, actor, lambda s: service.set_status(s, actor, ref, body, clock=ctx.clock)
    )


@router.post(_PM + "/approve", response_model=schemas.PostmortemOut)
async def approve(ref: str, ctx: ContextDep, actor: ActorDep) -> schemas.PostmortemOut:
    return await _answer(ctx, ref, actor, lambda s: service.approve(s, actor, ref, clock=ctx.clock))


@router.put(_PM + "/meeting", response_model=schemas.PostmortemOut)
async def meeting(
    ref: str, body: schemas.MeetingIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PostmortemOut:
    return await _answer(
        ctx, ref, actor, lambda s: service.set_meeting(s, actor, ref, body.at, clock=ctx.clock)
    )


@router.put("/incidents/{ref}/root-cause", response_model=schemas.RootCauseIn)
async def root_cause(
    ref: str, body: schemas.RootCauseIn, ctx: ContextDep, actor: ActorDep
) -> schemas.RootCauseIn:
    """Record the incident's root cause category (a key or name of ``root_causes``)."""
    async with ctx.db.write() as session:
        incident = await service.set_root_cause(
            session, actor, ref, body.root_cause, clock=ctx.clock
        )
        return schemas.RootCauseIn(root_cause=incident.root_cause)


@router.put("/incidents/{ref}/timeline/{event_id}/pin", status_code=204)
async def pin(ref: str, event_id: IdPath, ctx: ContextDep, actor: ActorDep) -> None:
    async with ctx.db.write() as session:
        await service.pin(session, actor, ref, event_id, True, clock=ctx.clock)


@router.delete("/incidents/{ref}/timeline/{event_id}/pin", status_code=204)
async def unpin(ref: str, event_id: IdPath, ctx: ContextDep, actor: ActorDep) -> None:
    async with ctx.db.write() as session:
        await service.pin(session, actor, ref, event_id, False, clock=ctx.clock)


@router.get("/action-items", response_model=schemas.ActionItemListOut)
async def list_items(
    ctx: ContextDep,
    actor: ActorDep,
    owner: Annotated[str | None, Query(max_length=254)] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    incident: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[schemas.ActionStatus], Query()] = [],  # noqa: B006 (read only)
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> schemas.ActionItemListOut:
    """Action items across incidents: open and in progress by default, soonest due first."""
    async with ctx.db.read() as session:
        rows, total = await actions.list_all(
            session,
            actor,
            now=ctx.clock.now(),
            owner=owner,
            team=team,
            ref=incident,
            statuses=status or OPEN_ACTION_STATUSES,
            overdue_only=overdue,
            limit=limit,
            offset=offset,
        )
    return schemas.ActionItemListOut(items=[actions.item_out(r) for r in rows], total=total)


@router.post("/incidents/{ref}/action-items", status_code=201, response_model=schemas.ActionItemOut)
async def add_item(
    ref: str, body: schemas.ActionItemIn, ctx: ContextDep, actor: ActorDep
) -> schemas.ActionItemOut:
    async with ctx.db.write() as session:
        item = await actions.add(session, actor, ref, body, clock=ctx.clock)
        return actions.item_out(actions.row_of(item, ref.strip().upper(), ctx.clock.now()))


@router.patch("/incidents/{ref}/action-items/{number}", response_model=schemas.ActionItemOut)
async def update_item(
    ref: str, number: IdPath, body: schemas.ActionItemPatch, ctx: ContextDep, actor: ActorDep
) -> schemas.ActionItemOut:
    async with ctx.db.write() as session:
        item = await actions.update(session, actor, ref, number, body, clock=ctx.clock)
        return actions.item_out(actions.row_of(item, ref.strip().upper(), ctx.clock.now()))
