"""The ``alerts.process`` job: apply a received event (and any earlier one of its dedup key
still waiting) to the alerts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import service as alerts
from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler


@handler(alerts.PROCESS)
async def process(session: AsyncSession, job: Job, clock: Clock) -> None:
    await alerts.process(session, int(job.payload["event"]), clock=clock)
