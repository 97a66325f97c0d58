"""Enqueue, claim, finish and retry jobs.

A job is enqueued in the caller's transaction, so it exists exactly when its cause does.
Workers claim due jobs under a lease: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (many
workers, many hosts), the ``BEGIN IMMEDIATE`` write lock on SQLite. A job whose worker
died is claimed again once its lease has run out; handlers must be idempotent.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.jobs.models import Job

DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)
_RNG = random.Random()


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    clock: Clock,
    due_at: datetime | None = None,
    dedup_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Write a job in the caller's transaction; with a key already pending, return that job."""
    now = clock.now()
    values = {
        "kind": kind,
        "payload": payload or {},
        "dedup_key": dedup_key,
        "status": "pending",
        "due_at": due_at or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }
    if dedup_key is None:
        job = Job(**values)
        session.add(job)
        await session.flush()
        return job
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Job.dedup_key], index_where=Job.status == "pending")
        .returning(Job.id)
    )
    job_id = (await session.execute(statement)).scalar_one_or_none()
    if job_id is None:
        existing = await session.scalar(
            select(Job).where(Job.dedup_key == dedup_key, Job.status == "pending")
        )
        assert existing is not None  # the conflicting row is visible to this transaction
        return existing
    inserted = await session.get(Job, job_id)
    assert inserted is not None
    return inserted


async def claim(
    session: AsyncSession,
    worker: str,
    *,
    clock: Clock,
    limit: int = 10,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Job]:
    """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker``."""
    now = clock.now()
    claimable = or_(
        and_(Job.status == "pending", Job.due_at <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )
    query = select(Job).where(claimable).order_by(Job.due_at, Job.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = list((await session.scalars(query)).all())
    for job in jobs:
        job.status = "running"
        job.locked_by = worker
        job.locked_until = now + lease
        job.attempts += 1
    await session.flush()
    return jobs


async def complete(session: AsyncSession, job: Job, *, clock: Clock) -> None:
    job.status = "done"
    job.finished_at = clock.now()
    job.locked_by = job.locked_until = None
    await session.flush()


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: between half and all of base·2^(attempts-1), capped.

    The jitter spreads retries of many jobs that failed together (a provider outage).
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 20)))
    return ceiling * (rng or _RNG).uniform(0.5, 1.0)


async def fail(
    session: AsyncSession, job: Job, error: str, *, clock: Clock, rng: random.Random | None = None
) -> None:
    """Record a failed attempt: retry later with backoff, or park the job as dead."""
    now = clock.now()
    job.last_error = error[-4000:]
    job.locked_by = job.locked_until = None
    if job.attempts >= job.max_attempts:
        job.status = "dead"
        job.finished_at = now
    else:
        job.status = "pending"
        job.due_at = now + backoff(job.attempts, rng=rng)
    await session.flush()


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next job becomes claimable: a worker sleeps until then (or a wake-up)."""
    pending = select(func.min(Job.due_at)).where(Job.status == "pending")
    leased = select(func.min(Job.locked_until)).where(Job.status == "running")
    times = [
        t for t in (await session.scalar(pending), await session.scalar(leased)) if t is not None
    ]
    return min(times) if times else None


async def dead_jobs(session: AsyncSession, *, limit: int = 100) -> list[Job]:
    query = select(Job).where(Job.status == "dead").order_by(Job.finished_at.desc()).limit(limit)
    return list((await session.scalars(query)).all())
