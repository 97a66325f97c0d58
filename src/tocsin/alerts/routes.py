"""REST doors to alerts under ``/api/v1``: integrations, alerts, maintenance windows. The doors monitoring
tools send to (``/v2/enqueue``, ...) are in :mod:`tocsin.alerts.doors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from tocsin.alerts import maintenance, schemas
from tocsin.alerts import service as alerts
from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.db import MAX_INT
from tocsin.errors import ERROR_RESPONSES

#: Mounted under ``/api/v1``.
router = APIRouter(tags=["alerts"], responses=ERROR_RESPONSES)
IntegrationId = Annotated[str, Path(max_length=64, description="The integration's key (a slug)")]


# --- integrations --------------------------------------------------------------------------


@router.get("/integrations", response_model=list[schemas.IntegrationOut])
async def list_integrations(ctx: ContextDep, actor: ActorDep) -> list[schemas.IntegrationOut]:
    """Every integration: those declared in the policy and those made through the API.
    Keys are never shown again after they are made (only their first characters)."""
    async with ctx.db.read() as session:
        return await alerts.list_integrations(session, actor, public_url=ctx.settings.public_url)


@router.get("/integrations/{integration}", response_model=schemas.IntegrationOut)
async def get_integration(
    integration: IntegrationId, ctx: ContextDep, actor: ActorDep
) -> schemas.IntegrationOut:
    async with ctx.db.read() as session:
        return await alerts.get_integration(
            session, actor, integration, public_url=ctx.settings.public_url
        )


@router.post("/integrations", status_code=201, response_model=schemas.IntegrationOut)
async def create_integration(
    body: schemas.IntegrationIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IntegrationOut:
    """A new integration (admins or ``manage-integrations``). The answer holds its secret
    ``key`` and the ``url`` to give the source: store the key now, it is not shown again."""
    async with ctx.db.write() as session:
        return await alerts.create_integration(
            session, actor, body, clock=ctx.clock, public_url=ctx.settings.public_url
        )


@router.post("/integrations/{integration}/rotate-key", response_model=schemas.IntegrationOut)
async def rotate_key(
    integration: IntegrationId, ctx: ContextDep, actor: ActorDep
) -> schemas.IntegrationOut:
    """A new key (admins or ``manage-integrations``); the old one stops working at once.
    For an integration declared in the policy, this makes its first key."""
    async with ctx.db.write() as session:
        return await alerts.rotate_key(
            session, actor, integration, clock=ctx.clock, public_url=ctx.settings.public_url
        )


# --- alerts --------------------------------------------------------------------------------


@router.get("/alerts", response_model=schemas.AlertListOut)
async def list_alerts(
    ctx: ContextDep,
    actor: ActorDep,
    status: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    integration: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> schemas.AlertListOut:
    """Alerts, newest first: ``status`` triggered, acknowledged or resolved (repeatable)."""
    async with ctx.db.read() as session:
        return await alerts.list_alerts(
            session, actor, status=status, integration=integration, limit=limit, offset=offset
        )


@router.get("/alerts/{alert_id}", response_model=schemas.AlertOut)
async def show_alert(alert_id: IdPath, ctx: ContextDep, actor: ActorDep) -> schemas.AlertOut:
    """One alert with every event that applied to it."""
    async with ctx.db.read() as session:
        return await alerts.get_alert(session, actor, alert_id)


# --- maintenance windows -------------------------------------------------------------------

WindowId = Annotated[
    str, Path(max_length=80, description="The window's number (``policy:KEY`` for the policy's)")
]


@router.get("/maintenance-windows", response_model=list[schemas.MaintenanceWindowOut])
async def list_maintenance_windows(
    ctx: ContextDep,
    actor: ActorDep,
    past: Annotated[bool, Query(alias="all", description="Also those that have ended")] = False,
) -> list[schemas.MaintenanceWindowOut]:
    """Maintenance windows that have not ended (``all``: every one), soonest first, the
    policy's included: while one is active its service's alerts open no incident."""
    async with ctx.db.read() as session:
        return await maintenance.list_windows(session, actor, clock=ctx.clock, past=past)


@router.post("/maintenance-windows", status_code=201, response_model=schemas.MaintenanceWindowOut)
async def add_maintenance_window(
    body: schemas.MaintenanceIn, ctx: ContextDep, actor: ActorDep
) -> schemas.MaintenanceWindowOut:
    """A new window (admins or ``manage-maintenance``): ``ends_at`` or ``duration``; times
    without a zone are in the policy's time zone, ``starts_at`` defaults to now."""
    async with ctx.db.write() as session:
        return await maintenance.add(session, actor, body, clock=ctx.clock)


@router.post("/maintenance-windows/{window}/end", response_model=schemas.MaintenanceWindowOut)
async def end_maintenance_window(
    window: WindowId, ctx: ContextDep, actor: ActorDep
) -> schemas.MaintenanceWindowOut:
    """End a window now; one that has not started is cancelled (admins or
    ``manage-maintenance``)."""
    async with ctx.db.write() as session:
        return await maintenance.end(session, actor, window, clock=ctx.clock)
