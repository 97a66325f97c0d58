"""Who may change an incident's postmortem and action items."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentRole
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy


async def writable(
    session: AsyncSession, actor: Actor, ref: str, permission: str
) -> tuple[Incident, Policy]:
    """The incident (if the actor may see it) and the current policy, after checking
    ``permission`` (standing roles and the roles the actor holds on the incident)."""
    incident = await incidents.get(session, actor, ref)
    current = await policies.current_policy(session)
    held = await session.scalars(
        select(IncidentRole.role).where(
            IncidentRole.incident_id == incident.id,
            IncidentRole.user_id == actor.user_id,
            IncidentRole.relieved_at.is_(None),
        )
    )
    require(current, actor, permission, list(held))
    return incident, current
