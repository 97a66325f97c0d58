"""A job that does nothing: the baseline of ``bench/escalation.py``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler


@handler("bench.noop")
async def noop(session: AsyncSession, job: Job, clock: Clock) -> None:
    """Nothing: the worker's claim and commit are what is measured."""
