"""REST door to the job table (admins): dead jobs and their retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.errors import ERROR_RESPONSES
from tocsin.jobs import service as jobs
from tocsin.jobs.schemas import JobOut, JobStatus

router = APIRouter(tags=["jobs"], responses=ERROR_RESPONSES)


@router.get("/jobs", response_model=list[JobOut])
async def list_jobs(
    ctx: ContextDep,
    actor: ActorDep,
    status: JobStatus = "dead",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JobOut]:
    """Jobs in one status (default: dead, the ones that need a person)."""
    async with ctx.db.read() as session:
        rows = await jobs.list_jobs(session, status, limit, actor=actor)
        return [JobOut.model_validate(r) for r in rows]


@router.post("/jobs/{job_id}/retry", response_model=JobOut)
async def retry_job(ctx: ContextDep, actor: ActorDep, job_id: IdPath) -> JobOut:
    """Run a dead job again: pending, due now, attempts from zero."""
    async with ctx.db.write() as session:
        job = await jobs.retry(session, job_id, clock=ctx.clock, actor=actor)
        return JobOut.model_validate(job)
