"""What an incident shows of its alerts: how many it took, and the maintenance windows in
force for the services they are about (or its components)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts.maintenance import covering
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import MaintenanceWindowOut
from tocsin.incidents.models import Incident


async def of_incident(
    session: AsyncSession, incident: Incident, windows: Sequence[MaintenanceWindowOut]
) -> tuple[int, list[MaintenanceWindowOut]]:
    """The incident's alert count, and which of ``windows`` cover its services."""
    rows = (
        await session.execute(
            select(Alert.service, func.count())
            .where(Alert.incident_id == incident.id)
            .group_by(Alert.service)
        )
    ).all()
    services = {service for service, _ in rows} | set(incident.components)
    return sum(count for _, count in rows), covering(windows, services)


def of_new_incident(
    incident: Incident, windows: Sequence[MaintenanceWindowOut]
) -> tuple[int, list[MaintenanceWindowOut]]:
    """:func:`of_incident` for an incident no alert has joined yet (being declared)."""
    return 0, covering(windows, set(incident.components))


async def of_incidents(
    session: AsyncSession, incidents: Sequence[Incident], windows: Sequence[MaintenanceWindowOut]
) -> dict[int, tuple[int, list[MaintenanceWindowOut]]]:
    """:func:`of_incident` for many incidents in one query (an incident list), by id."""
    found: dict[int, list[tuple[str | None, int]]] = {i.id: [] for i in incidents}
    if found:
        rows = await session.execute(
            select(Alert.incident_id, Alert.service, func.count())
            .where(Alert.incident_id.in_(list(found)))
            .group_by(Alert.incident_id, Alert.service)
        )
        for incident_id, service, count in rows.all():
            if incident_id is not None:
                found[incident_id].append((service, count))
    out: dict[int, tuple[int, list[MaintenanceWindowOut]]] = {}
    for incident in incidents:
        counted = found[incident.id]
        services = {service for service, _ in counted} | set(incident.components)
        out[incident.id] = (sum(c for _, c in counted), covering(windows, services))
    return out
