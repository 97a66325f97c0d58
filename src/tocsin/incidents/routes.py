"""REST doors to the incident service. Parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.deps import ActorDep, ContextDep, IdPath, Instant
from tocsin.context import Context
from tocsin.db import MAX_INT
from tocsin.errors import ERROR_RESPONSES
from tocsin.incidents import export, numbering, schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=ERROR_RESPONSES)
Ref = Annotated[str, "incident id, e.g. INC-2026-01-15-001"]


async def _write(
    ctx: Context, change: Callable[[AsyncSession], Awaitable[Incident]]
) -> schemas.IncidentDetailOut:
    async with ctx.db.write() as session:
        incident = await change(session)
        out = await incidents.describe(session, incident, clock=ctx.clock, detail=True)
    assert isinstance(out, schemas.IncidentDetailOut)
    return out


@router.post("", status_code=201, response_model=schemas.IncidentDetailOut)
async def declare(
    body: schemas.DeclareIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    async with numbering.turn(), ctx.db.write() as session:
        _, shown = await incidents.declare_described(session, actor, body, clock=ctx.clock)
    return shown


@router.get("", response_model=schemas.IncidentListOut)
async def list_incidents(
    ctx: ContextDep,
    actor: ActorDep,
    status: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    severity: Annotated[list[str], Query()] = [],  # noqa: B006
    type: Annotated[list[str], Query()] = [],  # noqa: B006
    open: bool = False,
    q: Annotated[str | None, Query(max_length=200)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> schemas.IncidentListOut:
    async with ctx.db.read() as session:
        rows, total = await incidents.search(
            session,
            actor,
            limit=limit,
            offset=offset,
            status=status,
            severity=severity,
            type_=type,
            open_only=open,
            search=q,
            since=since,
            until=until,
        )
        windows = await incidents.maintenance_now(session, clock=ctx.clock)
        out = await incidents.describe_many(session, rows, clock=ctx.clock, windows=windows)
    return schemas.IncidentListOut(incidents=out, total=total, maintenance=windows)


@router.get("/{ref}", response_model=schemas.IncidentDetailOut)
async def show(
    ref: str,
    ctx: ContextDep,
    actor: ActorDep,
    at: Annotated[
        Instant | None, Query(description="Judge the SLA targets as of this instant")
    ] = None,
) -> schemas.IncidentOut:
    async with ctx.db.read() as session:
        incident = await incidents.get(session, actor, ref)
        return await incidents.describe(session, incident, clock=ctx.clock, detail=True, at=at)


@router.patch("/{ref}", response_model=schemas.IncidentDetailOut)
async def update(
    ref: str, body: schemas.UpdateIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    return await _write(ctx, lambda s: incidents.update(s, actor, ref, body, clock=ctx.clock))


@router.post("/{ref}/acknowledge", response_model=schemas.IncidentDetailOut)
async def acknowledge(
    ref: str, ctx: ContextDep, actor: ActorDep, body: schemas.AcknowledgeIn | None = None
) -> schemas.IncidentDetailOut:
    via = body.via if body is not None else "api"
    return await _write(
        ctx, lambda s: incidents.acknowledge(s, actor, ref, clock=ctx.clock, via=via)
    )


@router.post("/{ref}/status", response_model=schemas.IncidentDetailOut)
async def set_status(
    ref: str, body: schemas.StatusIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    return await _write(
        ctx,
        lambda s: incidents.set_status(s, actor, ref, body.status, note=body.note, clock=ctx.clock),
    )


@router.post("/{ref}/resolve", response_model=schemas.IncidentDetailOut)
async def resolve(ref: str, ctx: ContextDep, actor: ActorDep) -> schemas.IncidentDetailOut:
    return await _write(
        ctx, lambda s: incidents.set_status(s, actor, ref, "resolved", clock=ctx.clock)
    )


@router.post("/{ref}/close", response_model=schemas.IncidentDetailOut)
async def close(ref: str, ctx: ContextDep, actor: ActorDep) -> schemas.IncidentDetailOut:
    return await _write(
        ctx, lambda s: incidents.set_status(s, actor, ref, "closed", clock=ctx.clock)
    )


@router.post("/{ref}/reopen", response_model=schemas.IncidentDetailOut)
async def reopen(ref: str, ctx: ContextDep, actor: ActorDep) -> schemas.IncidentDetailOut:
    return await _write(
        ctx, lambda s: incidents.set_status(s, actor, ref, "investigating", clock=ctx.clock)
    )


@router.post("/{ref}/severity", response_model=schemas.IncidentDetailOut)
async def change_severity(
    ref: str, body: schemas.SeverityIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    return await _write(
        ctx,
        lambda s: incidents.change_severity(
            s, actor, ref, body.severity, reason=body.reason, clock=ctx.clock
        ),
    )


@router.post("/{ref}/roles", response_model=schemas.IncidentDetailOut)
async def assign_role(
    ref: str, body: schemas.RoleIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    return await _write(
        ctx, lambda s: incidents.assign_role(s, actor, ref, body.role, body.email, clock=ctx.clock)
    )


@router.post("/{ref}/roles/relieve", response_model=schemas.IncidentDetailOut)
async def relieve_role(
    ref: str, body: schemas.RelieveIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    return await _write(
        ctx, lambda s: incidents.relieve_role(s, actor, ref, body.role, body.email, clock=ctx.clock)
    )


@router.post("/{ref}/participants", response_model=schemas.IncidentDetailOut)
async def add_participant(
    ref: str, body: schemas.ParticipantIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IncidentDetailOut:
    return await _write(
        ctx, lambda s: incidents.add_participant(s, actor, ref, body.email, clock=ctx.clock)
    )


@router.post("/{ref}/notes", status_code=201, response_model=schemas.EventOut)
async def add_note(
    ref: str, body: schemas.NoteIn, ctx: ContextDep, actor: ActorDep
) -> schemas.EventOut:
    async with ctx.db.write() as session:
        event = await incidents.add_note(session, actor, ref, body.text, clock=ctx.clock)
        return schemas.EventOut.model_validate(event)


@router.post("/{ref}/updates", status_code=201, response_model=schemas.EventOut)
async def post_update(
    ref: str, body: schemas.NoteIn, ctx: ContextDep, actor: ActorDep
) -> schemas.EventOut:
    """Post a stakeholder status update (restarts the update-cadence reminder clock)."""
    async with ctx.db.write() as session:
        event = await incidents.post_update(session, actor, ref, body.text, clock=ctx.clock)
        return schemas.EventOut.model_validate(event)


@router.post("/{ref}/mitigations", status_code=201, response_model=schemas.EventOut)
async def propose_mitigation(
    ref: str, body: schemas.MitigationIn, ctx: ContextDep, actor: ActorDep
) -> schemas.EventOut:
    """Propose a mitigation for the incident commander to approve (a ``mitigation_proposed``
    timeline event; comms routes ``on: mitigation_proposed`` send it)."""
    async with ctx.db.write() as session:
        event = await incidents.propose_mitigation(session, actor, ref, body, clock=ctx.clock)
        return schemas.EventOut.model_validate(event)


@router.post(
    "/{ref}/mitigations/{event_id}/approve", status_code=201, response_model=schemas.EventOut
)
async def approve_mitigation(
    ref: str, event_id: IdPath, ctx: ContextDep, actor: ActorDep
) -> schemas.EventOut:
    """Approve a proposed mitigation (its ``mitigation_proposed`` event's id): a
    ``mitigation_approved`` timeline event. Needs ``approve-rollback``; once per proposal."""
    async with ctx.db.write() as session:
        event = await incidents.approve_mitigation(session, actor, ref, event_id, clock=ctx.clock)
        return schemas.EventOut.model_validate(event)


@router.post("/{ref}/checklists/{item_id}", response_model=schemas.ChecklistItemOut)
async def check_item(
    ref: str, item_id: IdPath, body: schemas.CheckIn, ctx: ContextDep, actor: ActorDep
) -> schemas.ChecklistItemOut:
    async with ctx.db.write() as session:
        item = await incidents.set_checked(
            session, actor, ref, item_id, body.checked, clock=ctx.clock
        )
        return schemas.ChecklistItemOut.model_validate(item)


@router.get("/{ref}/timeline", response_model=list[schemas.EventOut])
async def timeline(ref: str, ctx: ContextDep, actor: ActorDep) -> list[schemas.EventOut]:
    async with ctx.db.read() as session:
        events = await incidents.timeline(session, actor, ref)
        return [schemas.EventOut.model_validate(e) for e in events]


@router.get("/{ref}/timeline.md", response_class=PlainTextResponse)
async def timeline_markdown(ref: str, ctx: ContextDep, actor: ActorDep) -> PlainTextResponse:
    async with ctx.db.read() as session:
        text = await export.timeline_markdown(session, actor, ref, clock=ctx.clock)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
