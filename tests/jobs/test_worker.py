"""The worker side: handlers run in the job's transaction, failures back off into dead jobs,
timers are re-planned and cancelled, and a sleeping worker wakes for new work at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.app import create_app
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.clock import Clock, SystemClock, VirtualClock
from tocsin.context import Context
from tocsin.db import Database
from tocsin.errors import Conflict, Forbidden, NotFound
from tocsin.jobs import listen, wake, worker
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.jobs.registry import batch_handler, handler, handler_for, load_handlers
from tocsin.jobs.worker import Worker, run_due, run_one
from tocsin.settings import Settings

EFFECT = "test.worker.effect"


@handler(EFFECT)
async def _effect(session: AsyncSession, job: Job, clock: Clock) -> None:
    """Writes one audit row per run (the job's visible effect), then maybe fails."""
    await audit.record(
        session,
        SYSTEM,
        EFFECT,
        "job",
        job.id,
        clock=clock,
        after={"status_seen": job.status, "attempt": job.attempts},
    )
    if job.attempts <= int(job.payload.get("fail_attempts", 0)):
        raise RuntimeError(f"provider down (attempt {job.attempts})")


BATCHED = "test.worker.batched"
#: The ids of the jobs each call of the batch handler got.
BATCH_CALLS: list[list[int]] = []


@handler(BATCHED)
async def _batched_alone(session: AsyncSession, job: Job, clock: Clock) -> None:
    await _effect(session, job, clock)


@batch_handler(BATCHED)
async def _batched(session: AsyncSession, batch: list[Job], clock: Clock) -> None:
    """Each job's effect, in one transaction; a job marked ``poison`` breaks the batch."""
    BATCH_CALLS.append([j.id for j in batch])
    for one in batch:
        await _effect(session, one, clock)
        if one.payload.get("poison"):
            raise RuntimeError("a bad job in the batch")


async def effects(db: Database) -> dict[int, int]:
    """Job id → how many times its effect was committed."""
    async with db.read() as session:
        rows = await session.execute(
            select(AuditEntry.object_id, func.count())
            .where(AuditEntry.action == EFFECT)
            .group_by(AuditEntry.object_id)
        )
        return {int(object_id): count for object_id, count in rows.all()}


async def job(db: Database, job_id: int) -> Job:
    async with db.read() as session:
        found = await session.get(Job, job_id)
    assert found is not None
    return found


async def put(ctx: Context, kind: str = EFFECT, payload: Any = None, **options: Any) -> int:
    async with ctx.db.write() as session:
        return (await jobs.enqueue(session, kind, payload, clock=ctx.clock, **options)).id


# --- run_due ------------------------------------------------------------------------------


async def test_jobs_of_a_batched_kind_claimed_together_run_in_one_transaction(
    ctx: Context, clock: VirtualClock
) -> None:
    BATCH_CALLS.clear()
    ids = [await put(ctx, BATCHED, {"n": n}) for n in range(3)]
    other = await put(ctx)
    assert await run_due(ctx.db, clock, "w1") == 4
    assert [ids] == BATCH_CALLS
    assert await effects(ctx.db) == {i: 1 for i in [*ids, other]}
    assert {(await job(ctx.db, i)).status for i in ids} == {"done"}


async def test_a_failing_batch_runs_its_jobs_one_by_one_so_only_the_bad_one_fails(
    ctx: Context, clock: VirtualClock
) -> None:
    """The batch's transaction is rolled back (no effect of it stays); each job then runs
    alone: the good ones once, the bad one fails and backs off on its own."""
    BATCH_CALLS.clear()
    good = [await put(ctx, BATCHED, {"n": n}) for n in range(2)]
    bad = await put(ctx, BATCHED, {"poison": True, "fail_attempts": 1})
    assert await run_due(ctx.db, clock, "w1") == 3
    assert [[*good, bad]] == BATCH_CALLS
    assert await effects(ctx.db) == {good[0]: 1, good[1]: 1}
    assert {(await job(ctx.db, i)).status for i in good} == {"done"}
    failed = await job(ctx.db, bad)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert "provider down" in (failed.last_error or "")


async def test_run_due_runs_each_handler_in_the_transaction_that_marks_it_done(
    ctx: Context, clock: VirtualClock
) -> None:
    first, second = await put(ctx, payload={"n": 1}), await put(ctx, payload={"n": 2})
    later = await put(ctx, due_at=clock.now() + timedelta(minutes=5))
    assert await run_due(ctx.db, clock, "w1") == 2
    assert await effects(ctx.db) == {first: 1, second: 1}
    for job_id in (first, second):
        done = await job(ctx.db, job_id)
        assert (done.status, done.finished_at, done.locked_by) == ("done", clock.now(), None)
    async with ctx.db.read() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.object_id == str(first)))
    assert entry is not None and entry.after == {"status_seen": "done", "attempt": 1}
    assert await run_due(ctx.db, clock, "w1") == 0  # nothing runs twice
    clock.advance(minutes=5)
    assert await run_due(ctx.db, clock, "w1") == 1
    assert await effects(ctx.db) == {first: 1, second: 1, later: 1}


async def test_a_failing_handler_is_rolled_back_retried_with_backoff_then_dead(
    ctx: Context, clock: VirtualClock
) -> None:
    flaky = await put(ctx, payload={"fail_attempts": 1})
    hopeless = await put(ctx, payload={"fail_attempts": 99}, max_attempts=3)
    assert await run_due(ctx.db, clock, "w") == 2
    assert await effects(ctx.db) == {}  # both attempts' writes were rolled back
    retrying = await job(ctx.db, flaky)
    assert retrying.status == "pending" and retrying.attempts == 1
    assert (
        clock.now() + timedelta(seconds=5) <= retrying.due_at <= clock.now() + timedelta(seconds=10)
    )
    assert retrying.last_error is not None
    assert retrying.last_error.startswith("RuntimeError: provider down (attempt 1)")
    assert "Traceback" not in retrying.last_error and "_effect" in retrying.last_error
    assert await run_due(ctx.db, clock, "w") == 0  # not before its backoff
    for _ in range(2):
        clock.advance(hours=1)
        await run_due(ctx.db, clock, "w")
    assert await effects(ctx.db) == {flaky: 1}
    assert (await job(ctx.db, flaky)).status == "done"
    dead = await job(ctx.db, hopeless)
    assert (dead.status, dead.attempts, dead.finished_at) == ("dead", 3, clock.now())
    assert dead.last_error is not None
    assert dead.last_error.startswith("RuntimeError: provider down (attempt 3)")
    clock.advance(hours=5)
    assert await run_due(ctx.db, clock, "w") == 0  # dead jobs stay parked


async def test_a_kind_without_handler_fails_like_any_other_error(
    ctx: Context, clock: VirtualClock
) -> None:
    assert handler_for("test.worker.nobody") is None
    job_id = await put(ctx, "test.worker.nobody", max_attempts=1)
    assert await run_due(ctx.db, clock, "w") == 1
    dead = await job(ctx.db, job_id)
    assert (dead.status, dead.last_error) == ("dead", "no handler for kind 'test.worker.nobody'")


async def test_a_worker_that_lost_its_lease_skips_the_job(
    ctx: Context, clock: VirtualClock
) -> None:
    job_id = await put(ctx)
    async with ctx.db.write() as session:
        await jobs.claim(session, "slow", clock=clock, lease=timedelta(seconds=30))
    clock.advance(minutes=1)
    async with ctx.db.write() as session:  # the lease ran out: another worker takes it
        (taken,) = await jobs.claim(session, "fast", clock=clock)
    assert await run_one(ctx.db, clock, "slow", job_id) is False
    assert await effects(ctx.db) == {}
    assert await run_one(ctx.db, clock, "fast", job_id) is True
    assert await run_one(ctx.db, clock, "slow", job_id) is False
    assert await effects(ctx.db) == {taken.id: 1}


async def test_a_lost_lease_also_keeps_the_old_worker_from_recording_a_failure(
    ctx: Context, clock: VirtualClock
) -> None:
    job_id = await put(ctx, payload={"fail_attempts": 1})
    async with ctx.db.write() as session:
        await jobs.claim(session, "w1", clock=clock)
    await worker._failed(ctx.db, clock, "someone-else", job_id, RuntimeError("late"))
    assert (await job(ctx.db, job_id)).last_error is None  # w1 still holds it


async def test_a_job_whose_worker_keeps_dying_is_parked_dead(
    ctx: Context, clock: VirtualClock
) -> None:
    job_id = await put(ctx, max_attempts=2)
    for attempt in (1, 2):  # each time the worker dies holding it (no run, no failure)
        async with ctx.db.write() as session:
            assert await jobs.claim(session, f"doomed-{attempt}", clock=clock)
        clock.advance(minutes=6)
    assert await run_due(ctx.db, clock, "w") == 1
    dead = await job(ctx.db, job_id)
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert dead.last_error is not None and "the last one never finished" in dead.last_error
    assert await effects(ctx.db) == {}


async def test_stopping_hands_unstarted_jobs_back(ctx: Context, clock: VirtualClock) -> None:
    ids = [await put(ctx, payload={"n": n}) for n in range(3)]
    ran: list[int] = []

    def stop() -> bool:
        ran.append(1)
        return len(ran) > 1  # after the first job

    assert await run_due(ctx.db, clock, "w", stop=stop) == 1
    assert await effects(ctx.db) == {ids[0]: 1}
    for job_id in ids[1:]:
        back = await job(ctx.db, job_id)
        assert (back.status, back.attempts, back.locked_by) == ("pending", 0, None)
    assert await run_due(ctx.db, clock, "w2") == 2


# --- schedule, cancel, retry ---------------------------------------------------------------


async def test_schedule_moves_the_pending_timer_and_cancel_removes_it(
    ctx: Context, clock: VirtualClock
) -> None:
    now = clock.now()
    async with ctx.db.write() as session:
        timer = await jobs.schedule(
            session,
            EFFECT,
            {"v": 1},
            clock=clock,
            due_at=now + timedelta(minutes=10),
            dedup_key="k",
        )
    async with ctx.db.write() as session:
        moved_id = await jobs.schedule(
            session, EFFECT, {"v": 2}, clock=clock, due_at=now + timedelta(minutes=3), dedup_key="k"
        )
        assert await jobs.next_due(session) == now + timedelta(minutes=3)
    assert moved_id == timer
    moved = await job(ctx.db, moved_id)
    assert (moved.payload, moved.due_at, moved.status) == (
        {"v": 2},
        now + timedelta(minutes=3),
        "pending",
    )
    clock.advance(minutes=3)
    assert await run_due(ctx.db, clock, "w") == 1
    async with ctx.db.write() as session:  # done: the key plans a new timer
        fresh = await jobs.schedule(
            session,
            EFFECT,
            {"v": 3},
            clock=clock,
            due_at=clock.now() + timedelta(minutes=1),
            dedup_key="k",
        )
    assert fresh != timer
    async with ctx.db.write() as session:
        assert await jobs.cancel(session, "k", clock=clock) is True
        assert await jobs.cancel(session, "k", clock=clock) is False
        assert await jobs.cancel(session, "no-such-key") is False
    cancelled = await job(ctx.db, fresh)
    assert (cancelled.status, cancelled.finished_at) == ("cancelled", clock.now())
    clock.advance(hours=1)
    assert await run_due(ctx.db, clock, "w") == 0
    assert await effects(ctx.db) == {timer: 1}
    async with ctx.db.write() as session:  # a cancelled key is free again
        again = await jobs.enqueue(session, EFFECT, clock=clock, dedup_key="k")
    assert again.id not in {timer, fresh}


async def test_schedule_leaves_a_running_job_alone(ctx: Context, clock: VirtualClock) -> None:
    async with ctx.db.write() as session:
        first = await jobs.schedule(session, EFFECT, clock=clock, due_at=clock.now(), dedup_key="k")
    async with ctx.db.write() as session:
        await jobs.claim(session, "w", clock=clock)
    async with ctx.db.write() as session:
        second = await jobs.schedule(
            session, EFFECT, clock=clock, due_at=clock.now() + timedelta(minutes=1), dedup_key="k"
        )
        assert await jobs.cancel(session, "k", clock=clock) is True
    assert second != first
    assert (await job(ctx.db, first)).status == "running"


async def test_retry_revives_only_dead_jobs_for_admins(ctx: Context, clock: VirtualClock) -> None:
    dead_id = await put(ctx, "test.worker.nobody", max_attempts=1, dedup_key="once")
    await run_due(ctx.db, clock, "w")
    viewer = Actor(user_id=None, email="viewer@example.com", name="Viewer")
    async with ctx.db.write() as session:
        with pytest.raises(Forbidden):
            await jobs.retry(session, dead_id, clock=clock, actor=viewer)
        with pytest.raises(Forbidden):
            await jobs.list_jobs(session, "dead", actor=viewer)
        with pytest.raises(NotFound):
            await jobs.retry(session, 999_999, clock=clock)
    async with ctx.db.write() as session:  # a pending twin with the same key blocks it
        twin = await jobs.enqueue(session, "test.worker.nobody", clock=clock, dedup_key="once")
    async with ctx.db.write() as session:
        with pytest.raises(Conflict, match="already pending"):
            await jobs.retry(session, dead_id, clock=clock)
    async with ctx.db.write() as session:
        await jobs.cancel(session, "once", clock=clock)
    clock.advance(minutes=1)
    async with ctx.db.write() as session:
        revived = await jobs.retry(session, dead_id, clock=clock)
    assert (revived.status, revived.attempts, revived.due_at) == ("pending", 0, clock.now())
    assert revived.finished_at is None and revived.last_error is not None
    async with ctx.db.write() as session:
        with pytest.raises(Conflict, match="only dead jobs"):
            await jobs.retry(session, twin.id, clock=clock)
        (entry,) = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "job.retried"))
        ).all()
    assert (entry.object_id, entry.actor) == (str(dead_id), "system")


# --- wake-ups -------------------------------------------------------------------------------


@asynccontextmanager
async def woken(db: Database) -> AsyncIterator[asyncio.Event]:
    """An event set by the same wake-up a worker gets: NOTIFY on PostgreSQL, in-process else."""
    event = asyncio.Event()
    if db.dialect == "sqlite":
        unsubscribe = wake.subscribe(db.url, event)
        try:
            yield event
        finally:
            unsubscribe()
        return
    connection = await asyncpg.connect(worker.asyncpg_dsn(db.url))
    try:
        await connection.add_listener(wake.CHANNEL, lambda *_: event.set())
        yield event
    finally:
        await connection.close()


async def settled(event: asyncio.Event, seconds: float = 0.2) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def test_a_written_job_wakes_workers_only_when_its_transaction_commits(
    ctx: Context,
) -> None:
    async with woken(ctx.db) as event:
        with pytest.raises(RuntimeError):
            async with ctx.db.write() as session:
                await jobs.enqueue(session, EFFECT, clock=ctx.clock)
                raise RuntimeError("the cause failed")
        assert not await settled(event)
        async with ctx.db.write() as session:
            await jobs.schedule(
                session, EFFECT, clock=ctx.clock, due_at=ctx.clock.now(), dedup_key="k"
            )
            assert not await settled(event)  # not before the commit
        assert await settled(event, 2)
        event.clear()
        event.clear()
        async with ctx.db.write() as session:  # a savepoint rolled back takes its wake-up along
            with pytest.raises(RuntimeError):
                async with session.begin_nested():
                    await jobs.enqueue(session, EFFECT, clock=ctx.clock)
                    raise RuntimeError("undo")
            await jobs.enqueue(session, EFFECT, clock=ctx.clock)
        assert await settled(event, 2)
        event.clear()
        async with ctx.db.write() as session:  # an unrelated write wakes nobody
            await audit.record(session, SYSTEM, "x", "y", 1, clock=ctx.clock)
        assert not await settled(event)


async def test_a_job_due_beyond_the_horizon_wakes_nobody(ctx: Context) -> None:
    """Sleeping workers look again within ``wake.HORIZON`` anyway (a delivery's recovery
    timer, a minute ahead for every message, must not wake every worker)."""
    now = ctx.clock.now()
    async with woken(ctx.db) as event:
        async with ctx.db.write() as session:
            await jobs.enqueue(session, EFFECT, clock=ctx.clock, due_at=now + wake.HORIZON * 2)
            await jobs.schedule(
                session, EFFECT, clock=ctx.clock, due_at=now + wake.HORIZON * 3, dedup_key="far"
            )
        assert not await settled(event)
        async with ctx.db.write() as session:
            await jobs.enqueue(session, EFFECT, clock=ctx.clock, due_at=now + wake.HORIZON / 2)
        assert await settled(event, 2)


async def test_a_notice_wakes_one_sleeping_worker_only_for_a_job_due_before_their_plans(
    db: Database,
) -> None:
    early, late, busy = (Worker(db, SystemClock(), name) for name in ("early", "late", "busy"))
    hub = listen.Listener(db.url)
    hub.workers = [early, late]
    early._sleep_until, late._sleep_until = 1000.0, 1200.0  # planned looks, epoch seconds
    hub.notice("1100.000")  # "early" looks before it is due: nobody is woken
    assert not early._wake.is_set() and not late._wake.is_set()
    hub.notice("900.000")  # due sooner than anyone looks: exactly one wakes
    assert [early._wake.is_set(), late._wake.is_set()].count(True) == 1
    early._wake.clear()
    late._wake.clear()
    hub.notice("")  # a notice without a time (an older writer): one looks
    assert [early._wake.is_set(), late._wake.is_set()].count(True) == 1
    hub.workers.append(busy)  # in a pass (no plan): flagged, so it looks again, none lost
    hub.notice("5000.000")
    assert busy._wake.is_set()
    early._wake.clear()
    late._wake.clear()
    hub.more()  # a full claim: another sleeper is woken
    assert [early._wake.is_set(), late._wake.is_set()].count(True) == 1


async def test_notices_carry_the_due_time_of_the_soonest_job_in_the_transaction(
    ctx: Context,
) -> None:
    if ctx.db.dialect != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's")
    now = ctx.clock.now()
    payloads: list[str] = []
    two = asyncio.Event()

    def heard(*args: Any) -> None:
        payloads.append(args[3])
        if len(payloads) == 2:
            two.set()

    connection = await asyncpg.connect(worker.asyncpg_dsn(ctx.db.url))
    try:
        await connection.add_listener(wake.CHANNEL, heard)
        async with ctx.db.write() as session:
            await jobs.enqueue(session, EFFECT, clock=ctx.clock, due_at=now + timedelta(seconds=30))
            await jobs.enqueue(session, EFFECT, clock=ctx.clock, due_at=now + timedelta(seconds=40))
            await jobs.enqueue(session, EFFECT, clock=ctx.clock, due_at=now)
        await asyncio.wait_for(two.wait(), 2)
        await asyncio.sleep(0.2)  # and no third one
        assert len(payloads) == 2
    finally:
        await connection.close()
    due = [float(p) for p in payloads]
    expected = [(now + timedelta(seconds=30)).timestamp(), now.timestamp()]  # not the 40 s
    assert due == [round(t, 3) for t in expected]


@pytest.fixture
async def other_db(db: Database) -> AsyncIterator[Database]:
    """A second engine on the same database: another server process, in effect."""
    other = Database(Settings(database_url=db.url))
    yield other
    await other.dispose()


async def wait_done(db: Database, job_id: int, within: float) -> float:
    """Seconds until the job is done (fails after ``within``)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if (await job(db, job_id)).status == "done":
            return time.monotonic() - start
        await asyncio.sleep(0.01)
    pytest.fail(f"job {job_id} did not run within {within}s")


@asynccontextmanager
async def running(work: Worker) -> AsyncIterator[Worker]:
    task = asyncio.create_task(work.run_forever())
    try:
        await asyncio.wait_for(work.ready.wait(), 5)
        yield work
    finally:
        work.stop()
        await asyncio.wait_for(task, 5)


async def test_a_sleeping_worker_wakes_at_once_for_a_job_from_another_engine(
    db: Database, other_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the wake-up under test: no look at SQLite's data_version meanwhile.
    monkeypatch.setattr(worker, "SQLITE_WATCH_SECONDS", 3600)
    clock = SystemClock()
    async with db.write() as session:  # the worker sleeps toward this one, an hour away
        await jobs.enqueue(session, EFFECT, clock=clock, due_at=clock.now() + timedelta(hours=1))
    async with running(Worker(db, clock)) as work:
        await asyncio.sleep(0.3)
        assert work.ran == 0
        async with other_db.write() as session:
            job_id = (await jobs.enqueue(session, EFFECT, clock=clock)).id
        assert await wait_done(db, job_id, within=2) < 1.0
    assert work.ran == 1


async def listeners(db: Database) -> set[int]:
    """PostgreSQL backends that LISTEN for jobs (empty on SQLite, which has none)."""
    if db.dialect == "sqlite":
        return set()
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        )
        return {pid for (pid,) in rows.all()}


async def test_a_worker_listens_again_after_its_connection_drops(
    db: Database, other_db: Database
) -> None:
    clock = SystemClock()
    async with running(Worker(db, clock)) as work:
        before = await listeners(db)
        if db.dialect == "postgresql":  # (SQLite's wake-up is in-process: nothing to drop)
            assert len(before) == 1
            async with other_db.write() as session:
                await session.execute(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": min(before)}
                )
            deadline = time.monotonic() + 5
            while not (await listeners(db)) - before:
                assert time.monotonic() < deadline, "the worker did not listen again"
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        async with other_db.write() as session:
            job_id = (await jobs.enqueue(session, EFFECT, clock=clock)).id
        assert await wait_done(db, job_id, within=2) < 1.0
    assert work.ran == 1
    assert await listeners(db) == set()  # stopping closed it


async def asleep(loops: list[Worker]) -> None:
    deadline = time.monotonic() + 5
    for each in loops:
        while each.sleep_until is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)


async def test_the_loops_of_a_process_share_one_listen_and_a_job_wakes_one_of_them(
    db: Database, other_db: Database
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (SQLite wakes in-process)")
    clock = SystemClock()
    loops = [Worker(db, clock, f"loop-{n}") for n in range(4)]
    async with AsyncExitStack() as stack:
        for each in loops:
            await stack.enter_async_context(running(each))
        assert len(await listeners(db)) == 1
        await asleep(loops)
        before = [each.looks for each in loops]
        async with other_db.write() as session:
            job_id = (await jobs.enqueue(session, EFFECT, clock=clock)).id
        assert await wait_done(db, job_id, within=2) < 1.0
        await asyncio.sleep(0.3)
        woken = [each for each, was in zip(loops, before, strict=True) if each.looks != was]
        assert len(woken) == 1 and woken[0].ran == 1
    assert await listeners(db) == set()


async def test_a_job_costs_a_sleeping_worker_one_look(
    db: Database, other_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Woken, it claims the job (and learns when the next one is due in the same
    transaction), runs it and sleeps again: no second, empty claim."""
    monkeypatch.setattr(worker, "SQLITE_WATCH_SECONDS", 3600)  # only the wake-up under test
    clock = SystemClock()
    async with running(Worker(db, clock)) as work:
        await asleep([work])
        before = work.looks
        async with (other_db if db.dialect == "postgresql" else db).write() as session:
            job_id = (await jobs.enqueue(session, EFFECT, clock=clock)).id
        await wait_done(db, job_id, within=2)
        await asyncio.sleep(0.3)
        assert (work.looks - before, work.ran) == (1, 1)


async def test_a_worker_sleeps_exactly_until_the_next_due_job(db: Database) -> None:
    clock = SystemClock()
    async with db.write() as session:
        job_id = (
            await jobs.enqueue(
                session, EFFECT, clock=clock, due_at=clock.now() + timedelta(seconds=0.5)
            )
        ).id
    async with running(Worker(db, clock)):
        elapsed = await wait_done(db, job_id, within=3)
    done = await job(db, job_id)
    assert done.finished_at is not None and done.finished_at >= done.due_at
    assert 0.3 < elapsed < 1.5


async def test_the_server_app_runs_a_worker_in_its_lifespan(db: Database) -> None:
    app = create_app(db.settings, database=db, run_worker=True)
    async with app.router.lifespan_context(app):
        async with db.write() as session:
            job_id = (await jobs.enqueue(session, EFFECT, clock=SystemClock())).id
        await wait_done(db, job_id, within=3)
    async with db.write() as session:  # the worker stopped with the app
        after = (await jobs.enqueue(session, EFFECT, clock=SystemClock())).id
    await asyncio.sleep(0.2)
    assert (await job(db, after)).status == "pending"


# --- registry -------------------------------------------------------------------------------


def test_a_kind_has_one_handler() -> None:
    async def impostor(session: AsyncSession, job: Job, clock: Clock) -> None:
        return None

    with pytest.raises(ValueError, match="already has a handler"):
        handler(EFFECT)(impostor)
    assert handler(EFFECT)(_effect) is _effect  # the same function again is fine


def test_load_handlers_imports_the_named_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_HANDLER_MODULES", "crash_handlers")
    load_handlers()
    assert handler_for("crash.effect") is not None
    load_handlers(Settings(handler_modules=[]))  # idempotent
    with pytest.raises(ImportError):
        load_handlers(Settings(handler_modules=["tocsin.no_such_module"]))
