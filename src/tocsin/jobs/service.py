"""Enqueue, claim, finish and retry jobs.

A job is enqueued in the caller's transaction, so it exists exactly when its cause does.
Workers claim due jobs under a lease: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (many
workers, many hosts), the ``BEGIN IMMEDIATE`` write lock on SQLite. A job whose worker
died is claimed again once its lease has run out. The worker (``jobs/worker.py``) runs a
job's handler in the same transaction that marks it done, so its database effects happen
once; effects outside the database (a page, a webhook) must be idempotent.

Writing a due job wakes the workers once the transaction commits (``jobs/wake.py``).
Like every service, these flush and never commit: the boundary owns the transaction.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, or_, select, text, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.auth.permissions import require_admin
from tocsin.clock import Clock
from tocsin.db import UTCDateTime
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.jobs import wake
from tocsin.jobs.models import Job

#: Every status a job can have.
STATUSES = ("pending", "running", "done", "dead", "cancelled")

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
        fresh = Job(**values)
        session.add(fresh)
        await session.flush()
        await wake.mark(session, fresh.due_at, now)
        return fresh
    statement = (
        _insert(session)(Job)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[Job.dedup_key], index_where=text("status = 'pending'")
        )
        .returning(Job)
    )
    options = {"populate_existing": True}
    job: Job | None = (await session.scalars(statement, execution_options=options)).first()
    if job is None:
        existing = await session.scalar(
            select(Job).where(Job.dedup_key == dedup_key, Job.status == "pending")
        )
        assert existing is not None  # the conflicting row is visible to this transaction
        return existing
    await wake.mark(session, job.due_at, now)
    return job


#: The jobs table for Core statements (on the session's connection): a fraction of the
#: ORM's CPU, for the writes every delivery and every burst of jobs makes.
_JOBS = cast(Table, Job.__table__)
_INSERT_JOBS = insert(_JOBS)


async def enqueue_many(
    session: AsyncSession,
    kind: str,
    payloads: Sequence[dict[str, Any]],
    *,
    clock: Clock,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    dedup_keys: Sequence[str] | None = None,
) -> None:
    """Write a job of ``kind`` for each payload (due now) in the caller's transaction, with
    one INSERT for all of them (one round trip). With ``dedup_keys`` (one per payload), a
    key already pending is skipped, as :func:`enqueue` would."""
    if not payloads:
        return
    now = clock.now()
    keys: Sequence[str | None] = dedup_keys if dedup_keys is not None else [None] * len(payloads)
    rows = [
        {
            "kind": kind,
            "payload": payload,
            "dedup_key": key,
            "status": "pending",
            "due_at": now,
            "attempts": 0,
            "max_attempts": max_attempts,
            "created_at": now,
        }
        for payload, key in zip(payloads, keys, strict=True)
    ]
    statement: Any = _INSERT_JOBS
    if dedup_keys is not None:
        statement = _insert(session)(_JOBS).on_conflict_do_nothing(
            index_elements=["dedup_key"], index_where=text("status = 'pending'")
        )
    await (await session.connection()).execute(statement, rows)
    await wake.mark(session, now, now)


async def schedule(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    clock: Clock,
    due_at: datetime,
    dedup_key: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int:
    """Plan a timer: insert it, or move the pending job with ``dedup_key`` to ``due_at``;
    returns the job's id.

    The pending job keeps its id and attempts; its kind, payload and due time become the
    new ones. A job with that key that is already running is left alone (a new pending
    one is written next to it). Core, not the ORM: a delivery sets a timer per send.
    """
    now = clock.now()
    statement = _upsert_timers(session).returning(_JOBS.c.id)
    row = _timer_row(kind, Timer(payload or {}, due_at, dedup_key), max_attempts, now)
    job_id = int((await (await session.connection()).execute(statement, row)).scalar_one())
    await wake.mark(session, due_at, now)
    return job_id


@dataclass(frozen=True)
class Timer:
    """One timer for :func:`schedule_many`: its payload, due time and (unique) key;
    ``wakes``: whether sleeping workers are told of it (a timer that only matters if a
    worker dies need not: they look at least every :data:`wake.HORIZON` anyway)."""

    payload: dict[str, Any]
    due_at: datetime
    dedup_key: str
    wakes: bool = True


async def schedule_many(
    session: AsyncSession,
    kind: str,
    timers: Sequence[Timer],
    *,
    clock: Clock,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> None:
    """:func:`schedule` for many timers of one kind with distinct keys, in one round trip
    (a batch of deliveries sets its timers at once)."""
    if not timers:
        return
    now = clock.now()
    rows = [_timer_row(kind, timer, max_attempts, now) for timer in timers]
    await (await session.connection()).execute(_upsert_timers(session), rows)
    waking = [timer.due_at for timer in timers if timer.wakes]
    if waking:
        await wake.mark(session, min(waking), now)


def _timer_row(kind: str, timer: Timer, max_attempts: int, now: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "payload": timer.payload,
        "dedup_key": timer.dedup_key,
        "status": "pending",
        "due_at": timer.due_at,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }


def _upsert_timers(session: AsyncSession) -> Any:
    """INSERT a timer, or move the pending job with its key (kind, payload, due time)."""
    statement = _insert(session)(_JOBS)
    return statement.on_conflict_do_update(
        index_elements=["dedup_key"],
        index_where=text("status = 'pending'"),
        set_={
            "kind": statement.excluded.kind,
            "payload": statement.excluded.payload,
            "due_at": statement.excluded.due_at,
        },
    )


async def cancel(session: AsyncSession, dedup_key: str, *, clock: Clock | None = None) -> bool:
    """Cancel the pending job with ``dedup_key``; ``False`` if there is none.

    A job already running is not stopped: its handler should check that it still has
    work to do (e.g. that the incident is still unacknowledged).
    """
    return bool(await cancel_many(session, [dedup_key], clock=clock))


async def cancel_many(
    session: AsyncSession, dedup_keys: Sequence[str], *, clock: Clock | None = None
) -> int:
    """Cancel the pending jobs with these keys in one statement; how many there were."""
    if not dedup_keys:
        return 0
    values: dict[str, Any] = {"status": "cancelled", "locked_by": None, "locked_until": None}
    if clock is not None:
        values["finished_at"] = clock.now()
    statement = (
        update(_JOBS)
        .where(_JOBS.c.dedup_key.in_(dedup_keys), _JOBS.c.status == "pending")
        .values(**values)
        .returning(_JOBS.c.id)
    )
    return len((await (await session.connection()).execute(statement)).scalars().all())


async def claim(
    session: AsyncSession,
    worker: str,
    *,
    clock: Clock,
    limit: int = 10,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Job]:
    """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker``, in the
    order they fell due: one UPDATE of the rows a sub-select picked (one round trip)."""
    now = clock.now()
    claimable = or_(
        and_(Job.status == "pending", Job.due_at <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )
    picked = select(Job.id).where(claimable).order_by(Job.due_at, Job.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id.in_(picked.scalar_subquery()))
        .values(
            status="running",
            locked_by=worker,
            locked_until=now + lease,
            attempts=Job.attempts + 1,
        )
        .returning(Job)
    )
    options = {"synchronize_session": False, "populate_existing": True}
    jobs = list((await session.scalars(statement, execution_options=options)).all())
    return sorted(jobs, key=lambda job: (job.due_at, job.id))


#: :func:`claim` and :func:`next_due` in one PostgreSQL statement: the claimed rows, then
#: a row with the next due time of the jobs not claimed (the sub-statements all see the
#: snapshot from before the UPDATE, so the claimed rows are left out by id and their new
#: lease end added instead).
_CLAIM_AND_NEXT = text(
    """
    WITH picked AS (
        SELECT id FROM jobs
        WHERE (status = 'pending' AND due_at <= :now)
           OR (status = 'running' AND locked_until < :now)
        ORDER BY due_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE jobs
        SET status = 'running', locked_by = :worker, locked_until = :until,
            attempts = attempts + 1
        WHERE id IN (SELECT id FROM picked)
        RETURNING id, kind, due_at
    )
    SELECT id, kind, due_at, NULL AS next_due FROM claimed
    UNION ALL
    SELECT NULL, NULL, NULL, LEAST(
        (SELECT min(due_at) FROM jobs
         WHERE status = 'pending' AND id NOT IN (SELECT id FROM picked)),
        (SELECT min(locked_until) FROM jobs
         WHERE status = 'running' AND id NOT IN (SELECT id FROM picked)),
        CASE WHEN EXISTS (SELECT 1 FROM picked) THEN :until END
    )
    """
).columns(due_at=UTCDateTime(), next_due=UTCDateTime())


async def claim_and_next(
    connection: AsyncConnection,
    worker: str,
    *,
    clock: Clock,
    limit: int,
    lease: timedelta = DEFAULT_LEASE,
) -> tuple[list[tuple[int, str]], datetime | None]:
    """PostgreSQL: :func:`claim` (ids and kinds, in due order) and then :func:`next_due`,
    as one statement: on a connection in autocommit, one round trip for a worker's look
    instead of four (BEGIN, claim, next due, COMMIT)."""
    now = clock.now()
    values = {"now": now, "until": now + lease, "worker": worker, "limit": limit}
    rows = (await connection.execute(_CLAIM_AND_NEXT, values)).all()
    claimed = sorted((row.due_at, row.id, row.kind) for row in rows if row.id is not None)
    due = next((row.next_due for row in rows if row.id is None), None)
    return [(job_id, kind) for _due, job_id, kind in claimed], due


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
    pending = select(func.min(Job.due_at)).where(Job.status == "pending").scalar_subquery()
    leased = select(func.min(Job.locked_until)).where(Job.status == "running").scalar_subquery()
    row = (
        await session.execute(
            select(type_coerce(pending, UTCDateTime()), type_coerce(leased, UTCDateTime()))
        )
    ).one()
    times = [t for t in row if t is not None]
    return min(times) if times else None


async def dead_jobs(session: AsyncSession, *, limit: int = 100) -> list[Job]:
    query = select(Job).where(Job.status == "dead").order_by(Job.finished_at.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def list_jobs(
    session: AsyncSession, status: str = "dead", limit: int = 100, *, actor: Actor = SYSTEM
) -> list[Job]:
    """Jobs with ``status`` (admins): finished ones newest first, the others by due time."""
    require_admin(actor, "listing jobs")
    if status not in STATUSES:
        raise InvalidStatus(status)
    query = select(Job).where(Job.status == status).limit(limit)
    if status in ("done", "dead", "cancelled"):
        query = query.order_by(Job.finished_at.desc(), Job.id.desc())
    else:
        query = query.order_by(Job.due_at, Job.id)
    return list((await session.scalars(query)).all())


async def retry(session: AsyncSession, job_id: int, *, clock: Clock, actor: Actor = SYSTEM) -> Job:
    """Give a dead job a new life (admins): pending, due now, attempts from zero.

    Its last error stays for reference until it next fails or succeeds.
    """
    require_admin(actor, "retrying a job")
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status != "dead":
        raise Conflict(
            f"job {job_id} is {job.status}; only dead jobs are retried",
            code="job_not_dead",
            details={"status": job.status},
        )
    if job.dedup_key is not None:
        twin = await session.scalar(
            select(Job.id).where(Job.dedup_key == job.dedup_key, Job.status == "pending")
        )
        if twin is not None:
            raise Conflict(
                f"job {twin} with the same key {job.dedup_key!r} is already pending",
                code="job_pending_twin",
                details={"pending_job": twin},
            )
    before = {"status": job.status, "attempts": job.attempts}
    now = clock.now()
    job.status = "pending"
    job.due_at = now
    job.attempts = 0
    job.finished_at = None
    job.locked_by = job.locked_until = None
    await session.flush()
    await audit.record(
        session,
        actor,
        "job.retried",
        "job",
        job.id,
        clock=clock,
        before=before,
        after={"status": job.status, "attempts": job.attempts},
    )
    await wake.mark(session, now, now)
    return job


class InvalidStatus(InvalidInput):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"unknown job status {status!r}; one of {', '.join(STATUSES)}",
            details={"status": status, "allowed": list(STATUSES)},
        )


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT (both have ON CONFLICT with a partial-index target)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def queue_depth(session: AsyncSession, *, now: datetime) -> tuple[int, int, datetime | None]:
    """For ``/metrics``: pending jobs already due (waiting for a worker), pending jobs due
    later (timers), and the due time of the oldest one waiting."""
    waiting = and_(Job.status == "pending", Job.due_at <= now)
    row = (
        await session.execute(
            select(
                func.count().filter(waiting),
                func.count().filter(and_(Job.status == "pending", Job.due_at > now)),
                type_coerce(func.min(Job.due_at).filter(waiting), UTCDateTime()),
            ).where(Job.status == "pending")
        )
    ).one()
    return int(row[0]), int(row[1]), row[2]
