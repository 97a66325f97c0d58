"""The job table: written with its cause, claimed once, re-run after a dead worker's lease."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.db import Database
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job


async def test_a_job_exists_only_if_its_transaction_commits(ctx: Context) -> None:
    with pytest.raises(RuntimeError):
        async with ctx.db.write() as session:
            await jobs.enqueue(session, "page", {"to": "a"}, clock=ctx.clock)
            raise RuntimeError("the cause failed")
    async with ctx.db.write() as session:
        await jobs.enqueue(session, "page", {"to": "b"}, clock=ctx.clock)
    async with ctx.db.write() as session:
        claimed = await jobs.claim(session, "w1", clock=ctx.clock)
    assert [j.payload for j in claimed] == [{"to": "b"}]


async def test_one_pending_job_per_dedup_key(ctx: Context) -> None:
    async with ctx.db.write() as session:
        first = await jobs.enqueue(
            session, "remind", {"n": 1}, dedup_key="INC-1:update", clock=ctx.clock
        )
        again = await jobs.enqueue(
            session, "remind", {"n": 2}, dedup_key="INC-1:update", clock=ctx.clock
        )
        other = await jobs.enqueue(
            session, "remind", {"n": 3}, dedup_key="INC-2:update", clock=ctx.clock
        )
    assert again.id == first.id and other.id != first.id
    async with ctx.db.write() as session:
        claimed = await jobs.claim(session, "w1", clock=ctx.clock)
        for job in claimed:
            await jobs.complete(session, job, clock=ctx.clock)
    async with ctx.db.write() as session:  # once done, the key is free again
        fresh = await jobs.enqueue(
            session, "remind", {"n": 4}, dedup_key="INC-1:update", clock=ctx.clock
        )
    assert fresh.id not in {first.id, other.id}


async def test_only_due_jobs_are_claimed_and_next_due_says_when(
    ctx: Context, clock: VirtualClock
) -> None:
    async with ctx.db.write() as session:
        await jobs.enqueue(
            session, "escalate", clock=clock, due_at=clock.now() + timedelta(minutes=10)
        )
        assert await jobs.next_due(session) == clock.now() + timedelta(minutes=10)
        assert await jobs.claim(session, "w1", clock=clock) == []
    clock.advance(minutes=10)
    async with ctx.db.write() as session:
        claimed = await jobs.claim(session, "w1", clock=clock)
    assert [j.kind for j in claimed] == ["escalate"]
    assert claimed[0].attempts == 1 and claimed[0].locked_by == "w1"


async def test_a_dead_workers_job_runs_again_after_the_lease(
    ctx: Context, clock: VirtualClock
) -> None:
    async with ctx.db.write() as session:
        await jobs.enqueue(session, "page", clock=clock)
    async with ctx.db.write() as session:
        (job,) = await jobs.claim(session, "dies", clock=clock, lease=timedelta(minutes=1))
    async with ctx.db.write() as session:
        assert await jobs.claim(session, "w2", clock=clock) == []  # still leased
        assert await jobs.next_due(session) == clock.now() + timedelta(minutes=1)
    clock.advance(minutes=1, seconds=1)
    async with ctx.db.write() as session:
        (again,) = await jobs.claim(session, "w2", clock=clock)
    assert again.id == job.id and again.locked_by == "w2" and again.attempts == 2


async def test_failures_back_off_then_park_the_job_as_dead(
    ctx: Context, clock: VirtualClock
) -> None:
    rng = random.Random(7)
    async with ctx.db.write() as session:
        await jobs.enqueue(session, "webhook", clock=clock, max_attempts=3)
    delays = []
    for attempt in range(3):
        async with ctx.db.write() as session:
            (job,) = await jobs.claim(session, "w", clock=clock)
            await jobs.fail(session, job, f"HTTP 503 (attempt {attempt + 1})", clock=clock, rng=rng)
            if job.status == "pending":
                delays.append(job.due_at - clock.now())
                clock.set(job.due_at)
    assert len(delays) == 2
    assert timedelta(seconds=5) <= delays[0] <= timedelta(seconds=10)
    assert timedelta(seconds=10) <= delays[1] <= timedelta(seconds=20)
    async with ctx.db.read() as session:
        (dead,) = await jobs.dead_jobs(session)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, "HTTP 503 (attempt 3)")
    async with ctx.db.write() as session:
        assert await jobs.claim(session, "w", clock=clock) == []


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    assert jobs.backoff(1, rng=rng) <= timedelta(seconds=10)
    assert jobs.backoff(30, rng=rng) <= jobs.BACKOFF_CAP
    assert jobs.backoff(30, rng=rng) >= jobs.BACKOFF_CAP / 2


async def test_concurrent_workers_never_claim_the_same_job(ctx: Context) -> None:
    async with ctx.db.write() as session:
        for n in range(60):
            await jobs.enqueue(session, "page", {"n": n}, clock=ctx.clock)
    workers = [Database(ctx.settings) for _ in range(4)]

    async def work(db: Database, name: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with db.write() as session:
                batch = await jobs.claim(session, name, clock=ctx.clock, limit=5)
                for job in batch:
                    await jobs.complete(session, job, clock=ctx.clock)
            if not batch:
                return taken
            taken += [j.id for j in batch]

    try:
        results = await asyncio.gather(*(work(db, f"w{i}") for i, db in enumerate(workers)))
    finally:
        for db in workers:
            await db.dispose()
    claimed = [job_id for taken in results for job_id in taken]
    assert len(claimed) == 60 and len(set(claimed)) == 60
    async with ctx.db.read() as session:
        from sqlalchemy import func, select

        done = await session.scalar(
            select(func.count()).select_from(Job).where(Job.status == "done")
        )
    assert done == 60
