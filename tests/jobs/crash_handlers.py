"""Job handlers for the worker crash test, loaded by ``tocsin worker`` subprocesses through
``TOCSIN_HANDLER_MODULES=crash_handlers`` (with this directory on ``PYTHONPATH``).

``crash.effect`` writes one audit row (its effect) in the job's transaction. A job with
``{"block": true}`` then, on its first attempt only, drops a file named ``blocked-<id>``
into ``$TOCSIN_CRASH_DIR`` and hangs, holding its transaction open: the test kills the
worker there.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import SYSTEM
from tocsin.clock import Clock
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler

KIND = "crash.effect"


@handler(KIND)
async def effect(session: AsyncSession, job: Job, clock: Clock) -> None:
    await audit.record(session, SYSTEM, KIND, "job", job.id, clock=clock)
    await session.flush()
    if job.payload.get("block") and job.attempts == 1:
        (Path(os.environ["TOCSIN_CRASH_DIR"]) / f"blocked-{job.id}").touch()
        await asyncio.sleep(120)
