"""The status page's own API under ``/api/v1/statuspage``: components, public incidents
and their updates, drafts, scheduled maintenance, subscribers. For signed-in people;
publishing needs ``update-status-page``. The public doors are :mod:`.site` (the page and
its Statuspage JSON) and :mod:`.doors` (subscriptions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.errors import ERROR_RESPONSES
from tocsin.statuspage import schemas, service, subscribers

#: Mounted under ``/api/v1``.
router = APIRouter(prefix="/statuspage", tags=["statuspage"], responses=ERROR_RESPONSES)
Key = Annotated[str, Path(max_length=80, description="A component's key")]
PublicId = Annotated[str, Path(max_length=16, description="The public id (12 characters)")]
OpenOnly = Annotated[
    bool, Query(description="Only unresolved incidents / not completed maintenance")
]
Limit = Annotated[int, Query(ge=1, le=500)]


# --- components --------------------------------------------------------------------------


@router.get("/components", response_model=list[schemas.ComponentOut])
async def list_components(ctx: ContextDep, actor: ActorDep) -> list[schemas.ComponentOut]:
    """Every component and group on the page, in page order."""
    async with ctx.db.read() as session:
        return await service.list_components(session)


@router.post("/components", status_code=201, response_model=schemas.ComponentOut)
async def create_component(
    body: schemas.ComponentIn, ctx: ContextDep, actor: ActorDep
) -> schemas.ComponentOut:
    """A component of the API's own (the policy's follow ``components:``)."""
    async with ctx.db.write() as session:
        return await service.create_component(session, actor, body, clock=ctx.clock)


@router.delete("/components/{key}", status_code=204)
async def remove_component(key: Key, ctx: ContextDep, actor: ActorDep) -> Response:
    async with ctx.db.write() as session:
        await service.remove_component(session, actor, key, clock=ctx.clock)
    return Response(status_code=204)


@router.put("/components/{key}/status", response_model=schemas.ComponentOut)
async def set_component_status(
    key: Key, body: schemas.ComponentStatusIn, ctx: ContextDep, actor: ActorDep
) -> schemas.ComponentOut:
    """Set a component's status by hand, outside any incident."""
    async with ctx.db.write() as session:
        return await service.set_component_status(session, actor, key, body.status, clock=ctx.clock)


@router.get("/components/{key}/history", response_model=list[schemas.ComponentChangeOut])
async def component_history(
    key: Key, ctx: ContextDep, actor: ActorDep, limit: Limit = 200
) -> list[schemas.ComponentChangeOut]:
    """The component's status changes, newest first."""
    async with ctx.db.read() as session:
        return await service.component_history(session, key, limit=limit)


# --- public incidents --------------------------------------------------------------------


@router.get("/incidents", response_model=list[schemas.PublicIncidentOut])
async def list_incidents(
    ctx: ContextDep, actor: ActorDep, open: OpenOnly = False, limit: Limit = 50
) -> list[schemas.PublicIncidentOut]:
    async with ctx.db.read() as session:
        return await service.list_public(session, open_only=open, limit=limit)


@router.post("/incidents", status_code=201, response_model=schemas.PublicIncidentOut)
async def publish(
    body: schemas.PublishIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PublicIncidentOut:
    """Publish a public incident (``update-status-page``), linked to an internal one
    (never a restricted one) if ``incident`` names it; subscribers are told."""
    async with ctx.db.write() as session:
        row = await service.publish(session, actor, body, clock=ctx.clock)
        return await service.describe(session, row)


@router.get("/incidents/{public_id}", response_model=schemas.PublicIncidentOut)
async def get_incident(
    public_id: PublicId, ctx: ContextDep, actor: ActorDep
) -> schemas.PublicIncidentOut:
    async with ctx.db.read() as session:
        return await service.get_public(session, public_id)


@router.post("/incidents/{public_id}/updates", response_model=schemas.PublicIncidentOut)
async def post_update(
    public_id: PublicId, body: schemas.UpdateIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PublicIncidentOut:
    """A new update: investigating, identified, monitoring, resolved or postmortem, with
    the components' new statuses."""
    async with ctx.db.write() as session:
        row = await service.post_update(session, actor, public_id, body, clock=ctx.clock)
        return await service.describe(session, row)


@router.post("/drafts", response_model=schemas.DraftOut)
async def draft(body: schemas.DraftIn, ctx: ContextDep, actor: ActorDep) -> schemas.DraftOut:
    """Draft a public update from an internal incident with the policy's status-page
    template of that status; nothing is published."""
    async with ctx.db.write() as session:
        return await service.draft(session, actor, body, clock=ctx.clock)


# --- scheduled maintenance ---------------------------------------------------------------


@router.get("/maintenances", response_model=list[schemas.PublicIncidentOut])
async def list_maintenances(
    ctx: ContextDep, actor: ActorDep, open: OpenOnly = False, limit: Limit = 50
) -> list[schemas.PublicIncidentOut]:
    async with ctx.db.read() as session:
        return await service.list_public(session, kind="maintenance", open_only=open, limit=limit)


@router.post("/maintenances", status_code=201, response_model=schemas.PublicIncidentOut)
async def schedule_maintenance(
    body: schemas.MaintenanceIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PublicIncidentOut:
    """Announce maintenance; with ``auto_transition`` it starts and completes by itself."""
    async with ctx.db.write() as session:
        row = await service.schedule_maintenance(session, actor, body, clock=ctx.clock)
        return await service.describe(session, row)


@router.get("/maintenances/{public_id}", response_model=schemas.PublicIncidentOut)
async def get_maintenance(
    public_id: PublicId, ctx: ContextDep, actor: ActorDep
) -> schemas.PublicIncidentOut:
    async with ctx.db.read() as session:
        return await service.get_public(session, public_id, "maintenance")


@router.post("/maintenances/{public_id}/status", response_model=schemas.PublicIncidentOut)
async def move_maintenance(
    public_id: PublicId, body: schemas.MaintenanceUpdateIn, ctx: ContextDep, actor: ActorDep
) -> schemas.PublicIncidentOut:
    """Move a maintenance on by hand: in_progress, verifying, completed."""
    async with ctx.db.write() as session:
        row = await service.move_maintenance(session, actor, public_id, body, clock=ctx.clock)
        return await service.describe(session, row)


# --- subscribers -------------------------------------------------------------------------


@router.get("/subscribers", response_model=list[schemas.SubscriberOut])
async def list_subscribers(ctx: ContextDep, actor: ActorDep) -> list[schemas.SubscriberOut]:
    """Every subscriber (``update-status-page``): confirmed, waiting and gone."""
    async with ctx.db.read() as session:
        return await subscribers.list_subscribers(session, actor)


@router.delete("/subscribers/{subscriber_id}", response_model=schemas.SubscriberOut)
async def remove_subscriber(
    subscriber_id: IdPath, ctx: ContextDep, actor: ActorDep
) -> schemas.SubscriberOut:
    async with ctx.db.write() as session:
        return await subscribers.remove_subscriber(session, actor, subscriber_id, clock=ctx.clock)
