"""Running jobs: :func:`run_due` (one pass) and :class:`Worker` (a pass whenever work is due).

A pass claims the due jobs in one short transaction (a lease), then runs each job in its
own write transaction that first marks the job done, on condition that this worker still
holds it, and then calls the job's handler (jobs of a kind with a batch handler that were
claimed together share one such transaction: see ``jobs/registry.py``). Effects and
"done" commit together: a worker killed mid-job leaves no trace of that job except its
lease, so after the lease runs out another worker runs it again, and its database effects
happen exactly once. A handler that raises is rolled back and the job is retried with
backoff, or parked as dead.

A :class:`Worker` sleeps until the next job is due or a wake-up arrives: ``LISTEN
tocsin_jobs`` on PostgreSQL (one connection per process, shared by its worker loops, which
wakes one of them per job: ``jobs/listen.py``), an in-process event on
SQLite (see ``jobs/wake.py``), plus, for commits of other processes on the same SQLite
file, a cheap look at ``PRAGMA data_version`` twice a second. The only timer is a long
backstop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import sqlite3
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.jobs import listen, service, wake
from tocsin.jobs.models import Job
from tocsin.jobs.registry import AfterCommit, batch_handler_for, handler_for

log = logging.getLogger("tocsin.jobs")

#: The longest a worker sleeps without a reason: a backstop, not a polling interval (jobs
#: due later than this wake nobody when written; see ``jobs/wake.py``).
IDLE_CAP = wake.HORIZON
#: Jobs a worker loop claims at once: it runs them one after another, so a small batch
#: lets the process's other loops share a burst (a full claim wakes another loop).
CLAIM_LIMIT = 8
#: The shortest pause when a due job could not be claimed (a writer holds its row).
MIN_PAUSE = 0.05
#: Seconds between looks for commits of other processes on a SQLite file.
SQLITE_WATCH_SECONDS = 0.5


class NoHandler(LookupError):
    """A job whose kind no loaded module handles."""


class Abandoned(RuntimeError):
    """A job whose last attempt never ended: its worker died (or lost the lease) each time."""


def new_worker_id() -> str:
    """``host:pid:random``: who holds a lease, readable in the jobs table."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def describe(exc: BaseException) -> str:
    """A job's ``last_error``: type, message and the innermost frames of the traceback."""
    if isinstance(exc, NoHandler | Abandoned):
        return str(exc)
    head = f"{type(exc).__name__}: {exc}"[:2000]
    frames = "".join(traceback.format_tb(exc.__traceback__)[-3:])[-1500:]
    return f"{head}\n{frames}".rstrip()


async def run_due(
    db: Database,
    clock: Clock,
    worker_id: str,
    *,
    limit: int = 50,
    lease: timedelta = service.DEFAULT_LEASE,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Claim the jobs due at ``clock.now()`` and run them; returns how many ran.

    A job counts as run when its handler was called (successfully or not) or it failed for
    want of a handler; a job whose lease went to another worker meanwhile is skipped. When
    ``stop()`` turns true, the jobs not yet started are handed back (pending, at once).
    Uses only ``clock`` for time, so ``tocsin simulate`` and tests drive it with a
    ``VirtualClock``.
    """
    claimed, _ = await claim_or_next(db, clock, worker_id, limit=limit, lease=lease)
    return await run_claimed(db, clock, worker_id, claimed, stop=stop)


#: A claimed job: its id and kind.
Claimed = tuple[int, str]


async def claim_or_next(
    db: Database, clock: Clock, worker_id: str, *, limit: int, lease: timedelta
) -> tuple[list[Claimed], datetime | None]:
    """The due jobs claimed for ``worker_id``, and when the next job not claimed falls due
    (in the same transaction: a worker that found less than a full batch need not look
    again before it sleeps)."""
    if db.dialect == "postgresql":
        async with db.single() as connection:
            return await service.claim_and_next(
                connection, worker_id, clock=clock, limit=limit, lease=lease
            )
    async with db.write() as session:
        jobs = await service.claim(session, worker_id, clock=clock, limit=limit, lease=lease)
        return [(job.id, job.kind) for job in jobs], await service.next_due(session)


def batches(claimed: Sequence[Claimed]) -> list[list[int]]:
    """The claimed jobs in the order they are run: each alone, except that the jobs of a
    kind with a batch handler go together, at the place of the first of them."""
    groups: list[list[int]] = []
    by_kind: dict[str, list[int]] = {}
    for job_id, kind in claimed:
        if batch_handler_for(kind) is None:
            groups.append([job_id])
        elif kind in by_kind:
            by_kind[kind].append(job_id)
        else:
            by_kind[kind] = [job_id]
            groups.append(by_kind[kind])
    return groups


async def run_claimed(
    db: Database,
    clock: Clock,
    worker_id: str,
    claimed: Sequence[Claimed],
    *,
    stop: Callable[[], bool] | None = None,
) -> int:
    ran = 0
    groups = batches(claimed)
    for index, group in enumerate(groups):
        if stop is not None and stop():
            await release(db, clock, worker_id, [i for rest in groups[index:] for i in rest])
            break
        if len(group) > 1:
            ran += await run_batch(db, clock, worker_id, group)
        elif await run_one(db, clock, worker_id, group[0]):
            ran += 1
    return ran


class _OneByOne(Exception):
    """A batch that must run job by job (a job on its last chance, or no batch handler)."""


async def run_batch(db: Database, clock: Clock, worker_id: str, job_ids: Sequence[int]) -> int:
    """Run jobs of one kind claimed by ``worker_id`` in one transaction with the kind's
    batch handler; returns how many ran. If anything goes wrong, the transaction is rolled
    back and each job runs alone (:func:`run_one`), so failures and retries stay per job."""
    after: AfterCommit | None = None
    try:
        async with db.write() as session:
            jobs = await _done_if_ours(session, clock, worker_id, job_ids)
            if not jobs:
                return 0
            run_many = batch_handler_for(jobs[0].kind)
            if run_many is None or any(
                job.attempts > job.max_attempts or job.kind != jobs[0].kind for job in jobs
            ):
                raise _OneByOne
            after = await run_many(session, sorted(jobs, key=lambda j: (j.due_at, j.id)), clock)
    except Exception as exc:
        if not isinstance(exc, _OneByOne):
            log.warning(
                "a batch of %s jobs failed (%s); running them one by one", len(job_ids), exc
            )
        return sum([await run_one(db, clock, worker_id, job_id) for job_id in job_ids])
    await _after_commit(db, clock, after, f"jobs {list(job_ids)}")
    return len(jobs)


async def run_one(db: Database, clock: Clock, worker_id: str, job_id: int) -> bool:
    """Run one job claimed by ``worker_id``; ``False`` if it no longer holds the job.

    A handler's :data:`~tocsin.jobs.registry.AfterCommit` runs after the commit; its
    failure is logged, not retried here (the handler left a timer for that).
    """
    after: AfterCommit | None = None
    try:
        async with db.write() as session:
            done = await _done_if_ours(session, clock, worker_id, [job_id])
            if not done:
                log.info("job %s: lease lost to another worker; skipped", job_id)
                return False
            job = done[0]
            if job.attempts > job.max_attempts:
                # Claimed again after its lease ran out on the last attempt: a job that
                # kills its worker must not do so forever.
                raise Abandoned(
                    f"gave up after {job.max_attempts} attempts: the last one never finished "
                    "(its worker died or its lease ran out)"
                )
            handle = handler_for(job.kind)
            if handle is None:
                raise NoHandler(f"no handler for kind {job.kind!r}")
            after = await handle(session, job, clock)
    except Exception as exc:
        await _failed(db, clock, worker_id, job_id, exc)
        return True
    await _after_commit(db, clock, after, f"job {job_id}")
    return True


async def _done_if_ours(
    session: AsyncSession, clock: Clock, worker_id: str, job_ids: Sequence[int]
) -> list[Job]:
    """Mark the jobs done, those ``worker_id`` still holds, and return them: on
    PostgreSQL the row locks also keep every other worker's claim away until the
    handler's transaction ends (and "done" commits with the handler's effects)."""
    statement = (
        update(Job)
        .where(Job.id.in_(job_ids), Job.status == "running", Job.locked_by == worker_id)
        .values(status="done", finished_at=clock.now(), locked_by=None, locked_until=None)
        .returning(Job)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


async def _after_commit(db: Database, clock: Clock, after: AfterCommit | None, what: str) -> None:
    """A handler's work after its commit; a failure is logged, not retried here (the
    handler left a timer for that)."""
    if after is None:
        return
    try:
        await after(db, clock)
    except Exception:
        log.exception("%s: the work after the commit failed", what)


async def _failed(db: Database, clock: Clock, worker_id: str, job_id: int, exc: Exception) -> None:
    async with db.write() as session:
        job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
        if job is None or job.status != "running" or job.locked_by != worker_id:
            return  # the lease ran out meanwhile; the new holder decides
        await service.fail(session, job, describe(exc), clock=clock)
        if job.status == "dead":
            log.error(
                "job %s (%s) is dead after %s attempts: %s",
                job.id,
                job.kind,
                job.attempts,
                job.last_error,
            )
        else:
            log.warning(
                "job %s (%s) failed (attempt %s of %s), retry at %s: %s",
                job.id,
                job.kind,
                job.attempts,
                job.max_attempts,
                job.due_at.isoformat(),
                describe(exc).splitlines()[0],
            )


async def release(db: Database, clock: Clock, worker_id: str, job_ids: Sequence[int]) -> None:
    """Hand jobs claimed but not started back: pending and due at once, attempt undone."""
    if not job_ids:
        return
    async with db.write() as session:
        await session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.status == "running", Job.locked_by == worker_id)
            .values(status="pending", locked_by=None, locked_until=None, attempts=Job.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        await wake.mark(session, clock.now(), clock.now())


#: asyncpg's DSN for a SQLAlchemy URL (kept here for callers of the worker module).
asyncpg_dsn = listen.asyncpg_dsn


class Worker:
    """Runs jobs until :meth:`stop`: a pass whenever a job is due or a wake-up arrives.

    ``ready`` is set once the wake-up source listens (so a job written after that wakes
    this worker); ``ran`` counts the jobs run.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        worker_id: str | None = None,
        *,
        limit: int = CLAIM_LIMIT,
        lease: timedelta = service.DEFAULT_LEASE,
        idle_cap: timedelta = IDLE_CAP,
    ) -> None:
        self.db = db
        self.clock = clock
        self.worker_id = worker_id or new_worker_id()
        self.limit = limit
        self.lease = lease
        self.idle_cap = min(idle_cap, wake.HORIZON)
        self.ready = asyncio.Event()
        self.ran = 0
        #: Claims tried (each a round trip to the database, work found or not).
        self.looks = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._sleep_until: float | None = None
        self._listener: listen.Listener | None = None

    def stop(self) -> None:
        """Finish the job in hand, hand back the others, and return from run_forever."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run_forever(self) -> None:
        log.info("job worker %s started (%s)", self.worker_id, self.db.dialect)
        failures = 0
        async with self._wake_ups():
            while not self._stopping:
                # Cleared before looking, so a wake-up during the pass is not lost.
                self._wake.clear()
                try:
                    self.looks += 1
                    claimed, due = await claim_or_next(
                        self.db, self.clock, self.worker_id, limit=self.limit, lease=self.lease
                    )
                    if claimed:
                        full = len(claimed) >= self.limit
                        if full and self._listener is not None:
                            self._listener.more()  # more may be waiting: another claims it
                        self.ran += await run_claimed(
                            self.db,
                            self.clock,
                            self.worker_id,
                            claimed,
                            stop=lambda: self._stopping,
                        )
                        if full or self._wake.is_set():
                            failures = 0
                            continue
                        # Everything due was taken, and no job was written meanwhile (its
                        # notice would have set the flag): sleep toward the next one.
                    failures = 0
                    pause = self._pause_until(due)
                except Exception:
                    failures += 1
                    pause = min(30.0, 0.5 * 2 ** min(failures, 6))
                    log.exception(
                        "job worker %s: pass failed; trying again in %.1fs", self.worker_id, pause
                    )
                if not self._stopping:
                    self._sleep_until = self.clock.now().timestamp() + pause
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), pause)
                    self._sleep_until = None
        log.info("job worker %s stopped", self.worker_id)

    def _pause_until(self, due: datetime | None) -> float:
        """Seconds to sleep: until the next due job or lease expiry, within the backstop."""
        cap = self.idle_cap.total_seconds()
        if due is None:
            return cap
        return min(cap, max((due - self.clock.now()).total_seconds(), MIN_PAUSE))

    @property
    def sleep_until(self) -> float | None:
        """When this worker plans to look next (epoch seconds of its clock); None in a pass
        or when a wake-up is pending (it looks at once)."""
        return None if self._wake.is_set() else self._sleep_until

    @asynccontextmanager
    async def _wake_ups(self) -> AsyncIterator[None]:
        if self.db.dialect == "postgresql":
            self._listener = listen.join(self.db.url, self)
            ready = asyncio.create_task(self._listener.ready.wait())
            ready.add_done_callback(lambda _: self.ready.set())
            try:
                yield
            finally:
                ready.cancel()
                await listen.leave(self._listener, self)
                self._listener = None
        else:
            unsubscribe = wake.subscribe(self.db.url, self._wake)
            path = self.db.settings.sqlite_path()
            watcher = None
            if path is not None:
                watcher = asyncio.create_task(self._watch_sqlite(str(path)))
            self.ready.set()
            try:
                yield
            finally:
                unsubscribe()
                if watcher is not None:
                    watcher.cancel()
                    with suppress(asyncio.CancelledError):
                        await watcher

    async def _watch_sqlite(self, path: str) -> None:
        """Notice commits of other processes (a CLI on the same file): SQLite's stand-in for
        NOTIFY. ``PRAGMA data_version`` changes when another connection commits; reading it
        costs no disk I/O and holds no transaction open."""
        previous: Any = None
        while True:
            try:
                async with aiosqlite.connect(path, isolation_level=None) as connection:
                    while True:
                        async with connection.execute("PRAGMA data_version") as cursor:
                            row = await cursor.fetchone()
                        version = row[0] if row else None
                        if previous is not None and version != previous:
                            self._wake.set()
                        previous = version
                        await asyncio.sleep(SQLITE_WATCH_SECONDS)
            except (OSError, sqlite3.Error) as exc:
                log.warning(
                    "job worker %s: watching the SQLite file failed: %s", self.worker_id, exc
                )
                previous = None
                self._wake.set()
                await asyncio.sleep(5)
