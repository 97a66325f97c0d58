"""What the console's live updates ask the database: the newest timeline event the
viewer may see, on one incident or on any."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentEvent


async def latest_event(session: AsyncSession, actor: Actor) -> int:
    """The id of the newest timeline event of any incident ``actor`` may see (0: none)."""
    seen = incidents.visible(select(Incident.id), actor).scalar_subquery()
    query = select(func.max(IncidentEvent.id)).where(IncidentEvent.incident_id.in_(seen))
    return int(await session.scalar(query) or 0)


async def events_after(
    session: AsyncSession, actor: Actor, ref: str, after: int
) -> list[IncidentEvent]:
    """The incident's timeline events newer than ``after`` (visibility checked)."""
    incident = await incidents.get(session, actor, ref)
    rows = await session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id, IncidentEvent.id > after)
        .order_by(IncidentEvent.id)
    )
    return list(rows.all())
