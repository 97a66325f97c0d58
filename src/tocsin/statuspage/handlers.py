"""The ``statuspage.maintenance`` job: a scheduled maintenance starts or completes by
itself at its times (``{"maintenance": id, "step": "start" | "end"}``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.statuspage import service


@handler(service.MAINTENANCE_JOB)
async def maintenance(session: AsyncSession, job: Job, clock: Clock) -> None:
    await service.advance_maintenance(
        session, int(job.payload["maintenance"]), str(job.payload["step"]), clock=clock
    )
