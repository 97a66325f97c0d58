"""The ``alerts.process`` job: apply received events (and any earlier one of their dedup
keys still waiting) to the alerts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import service as alerts
from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler


@handler(alerts.PROCESS)
async def process(session: AsyncSession, job: Job, clock: Clock) -> None:
    """``{"events": [ids]}``: events stored together; ``{"event": id}``: one key's."""
    if "events" in job.payload:
        await alerts.process_stored(session, [int(i) for i in job.payload["events"]], clock=clock)
    else:
        await alerts.process(session, int(job.payload["event"]), clock=clock)
