"""A ``tocsin worker`` killed while it holds jobs: after a restart every job runs, none twice.

The handlers (``crash_handlers.py``) write one audit row per run in the job's transaction;
two jobs hang on their first attempt so that the first worker dies in the middle of them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tocsin.audit.models import AuditEntry
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job

HERE = Path(__file__).resolve().parent
KIND = "crash.effect"
COMMAND = "from tocsin.cli.main import main; main()"


def start_worker(db: Database, crash_dir: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": db.url,
        "TOCSIN_HANDLER_MODULES": "crash_handlers",
        "TOCSIN_CRASH_DIR": str(crash_dir),
        "PYTHONPATH": path,
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", COMMAND, "worker", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def statuses(db: Database) -> dict[int, str]:
    async with db.read() as session:
        rows = await session.execute(select(Job.id, Job.status).where(Job.kind == KIND))
        return dict(rows.all())


async def until(what: str, check: object, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60  # a worker starting on a busy CI machine is slow
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        if process.poll() is not None:
            raise AssertionError(f"worker exited ({process.returncode}):\n{log.read_text()}")
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


async def test_a_killed_worker_leaves_every_job_to_run_exactly_once(
    db: Database, tmp_path: Path
) -> None:
    clock = SystemClock()
    async with db.write() as session:
        for n in range(8):
            await jobs.enqueue(session, KIND, {"n": n, "block": n in (2, 5)}, clock=clock)
    crash_dir = tmp_path / "crash"
    crash_dir.mkdir()

    first_log = tmp_path / "first.log"
    first = start_worker(db, crash_dir, first_log, "--concurrency", "2", "--lease", "1")
    try:

        async def blocked() -> bool:
            return any(crash_dir.iterdir())

        await until("a job to hang", blocked, first, first_log)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    held = [job_id for job_id, status in (await statuses(db)).items() if status == "running"]
    assert held, "the worker died holding no job"

    second_log = tmp_path / "second.log"
    second = start_worker(db, crash_dir, second_log, "--lease", "1")
    try:

        async def all_done() -> bool:
            return set((await statuses(db)).values()) == {"done"}

        await until("every job to be done", all_done, second, second_log)
        # Idle now, with nothing due: a job written by this (another) process wakes it.
        await asyncio.sleep(0.3)
        async with db.write() as session:
            late = (await jobs.enqueue(session, KIND, {"n": "late"}, clock=clock)).id
        written = time.monotonic()

        async def late_done() -> bool:
            return (await statuses(db))[late] == "done"

        await until("the late job", late_done, second, second_log)
        assert time.monotonic() - written < 2
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, second_log.read_text()
    output = second_log.read_text()
    assert "Tocsin worker running on" in output and "crash.effect" in output
    assert "Tocsin worker stopped" in output

    async with db.read() as session:
        rows = await session.execute(
            select(AuditEntry.object_id, func.count())
            .where(AuditEntry.action == KIND)
            .group_by(AuditEntry.object_id)
        )
        runs = {int(object_id): count for object_id, count in rows.all()}
    assert runs == dict.fromkeys(await statuses(db), 1)
