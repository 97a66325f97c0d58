"""The status page's jobs: ``statuspage.maintenance`` starts or completes a scheduled
maintenance at its times (``{"maintenance": id, "step": "start" | "end"}``);
``statuspage.announce`` tells subscribers of one update (``{"update": id, "event"}``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.statuspage import service, subscribers


@handler(service.MAINTENANCE_JOB)
async def maintenance(session: AsyncSession, job: Job, clock: Clock) -> None:
    await service.advance_maintenance(
        session, int(job.payload["maintenance"]), str(job.payload["step"]), clock=clock
    )


@handler(subscribers.ANNOUNCE)
async def announce(session: AsyncSession, job: Job, clock: Clock) -> None:
    await subscribers.announce_update(
        session, int(job.payload["update"]), str(job.payload["event"]), clock=clock
    )
