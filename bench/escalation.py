"""Escalation under load, with a worker killed mid-run. PostgreSQL only.

Two runs of 10,000 incidents each, whose escalation step (a page) falls due over a
three-minute window, worked off by two ``tocsin worker`` processes: a steady run, and a
run in which one worker is killed with SIGKILL halfway and started again. Printed per run:
p50 / p99 / max lateness of fired steps (fired - due), and the counts of missed and
duplicated pages (pages on the timeline per step: 0 is missed, more than 1 duplicated).

Baseline, same run and same workers: no-op jobs due at the same rate, so the ratio shows
what the escalation work adds to the engine's own claim/commit latency.

    .venv/bin/python bench/escalation.py [--incidents 10000] [--window 180] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tocsin.auth.actor import SYSTEM
from tocsin.clock import SystemClock, VirtualClock
from tocsin.db import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn
from tocsin.jobs import service as jobs
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.settings import Settings

HERE = Path(__file__).resolve().parent
LEASE_SECONDS = 10
#: Job loops per worker process: while one waits on the database, the other runs.
CONCURRENCY = 2
#: Seconds between starting the workers and the first due job (process start-up).
LEAD_SECONDS = 10
POLICY = """
tocsin: 1
organization: {name: Bench, timezone: Europe/Amsterdam}
severities:
  - {key: P1, name: High}
people:
  - {key: oncall, email: oncall@example.com, name: On call, contacts: [{type: sms, value: "+1"}]}
  - {key: backup, email: backup@example.com, name: Backup}
schedules:
  - key: primary
    name: Primary
    layers: [{participants: [oncall, backup], shift: daily, start: 2026-01-05}]
escalation:
  - key: p1
    severities: [P1]
    steps:
      - {at: 5m, page: [schedule:primary]}
"""


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(server: str, statement: str) -> None:
    conn = await asyncpg.connect(_dsn(server))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _declare_all(db: Database, count: int) -> None:
    """Declare through the real service, spread over past days (separate ID counters)."""
    base = SystemClock().now() - timedelta(days=400)

    async def declare(indexes: range) -> None:
        for i in indexes:
            clock = VirtualClock(base + timedelta(days=i % 300, seconds=i))
            async with db.write() as session:
                await incidents.declare(
                    session, SYSTEM, DeclareIn(title=f"Bench {i}", severity="P1"), clock=clock
                )

    chunk = (count + 7) // 8
    await asyncio.gather(
        *(declare(range(s, min(s + chunk, count))) for s in range(0, count, chunk))
    )


async def _retime(
    db: Database, kind: str, start: datetime, window: float, limit: int | None = None
) -> list[int]:
    """Spread the first ``limit`` pending jobs of ``kind`` evenly over [start, start + window];
    returns the escalation steps they fire."""
    async with db.write() as session:
        query = "SELECT id FROM jobs WHERE kind = :k AND status = 'pending' ORDER BY id"
        ids = list(
            (
                await session.execute(
                    text(query + (f" LIMIT {int(limit)}" if limit else "")), {"k": kind}
                )
            ).scalars()
        )
        step = window / max(len(ids), 1)
        steps = []
        for n, job_id in enumerate(ids):
            due = start + timedelta(seconds=n * step)
            payload_step = await session.scalar(
                text("UPDATE jobs SET due_at = :d WHERE id = :i RETURNING payload->>'step'"),
                {"d": due, "i": job_id},
            )
            if kind == "escalation.step":
                steps.append(int(payload_step))
                await session.execute(
                    text("UPDATE escalation_steps SET due_at = :d WHERE id = :s"),
                    {"d": due, "s": int(payload_step)},
                )
    return steps


def _start_worker(url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": url,
        "TOCSIN_HANDLER_MODULES": "bench_noop",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-c", "from tocsin.cli.main import main; main()", "worker"]
    command += ["--lease", str(LEASE_SECONDS), "--concurrency", str(CONCURRENCY)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def _wait_done(db: Database, kind: str, last_due: datetime, deadline: float) -> None:
    """Until every job of ``kind`` due by ``last_due`` has run (or the deadline passes)."""
    while time.monotonic() < deadline:
        async with db.read() as session:
            left = await session.scalar(
                text(
                    "SELECT count(*) FROM jobs WHERE kind = :k AND due_at <= :d "
                    "AND status IN ('pending', 'running')"
                ),
                {"k": kind, "d": last_due},
            )
        if not left:
            return
        await asyncio.sleep(0.5)


def _figures(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


async def _phase(
    db: Database, url: str, kind: str, window: float, kill_at: float | None, count: int | None
) -> list[int]:
    start = SystemClock().now() + timedelta(seconds=LEAD_SECONDS)
    steps = await _retime(db, kind, start, window, count)
    workers = [_start_worker(url), _start_worker(url)]
    try:
        if kill_at is not None:
            await asyncio.sleep(LEAD_SECONDS + kill_at)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            print(f"  killed worker 1 (SIGKILL) at +{kill_at:.0f}s; restarting it in 2s")
            await asyncio.sleep(2)
            workers[0] = _start_worker(url)
        deadline = time.monotonic() + window + LEAD_SECONDS + 4 * LEASE_SECONDS + 30
        await _wait_done(db, kind, start + timedelta(seconds=window), deadline)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    return steps


async def _noop_lateness(db: Database) -> list[float]:
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT extract(epoch FROM finished_at - due_at) FROM jobs "
                "WHERE kind = 'bench.noop' AND status = 'done'"
            )
        )
        return [float(v) for (v,) in rows]


async def _escalation_figures(db: Database, steps: list[int]) -> tuple[list[float], int, int, int]:
    """Lateness of the fired steps, missed and duplicated pages, jobs claimed twice."""
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT id, status, extract(epoch FROM settled_at - due_at) "
                "FROM escalation_steps WHERE id = ANY(:ids)"
            ),
            {"ids": steps},
        )
        lateness = [float(late) for _, status, late in rows if status == "fired"]
        pages = {
            int(step): int(n)
            for step, n in await session.execute(
                text(
                    "SELECT (data->'after'->>'step')::int, count(*) FROM incident_events "
                    "WHERE kind = 'page' AND (data->'after'->>'step')::int = ANY(:ids) GROUP BY 1"
                ),
                {"ids": steps},
            )
        }
        rerun = await session.scalar(
            text(
                "SELECT count(*) FROM jobs WHERE kind = 'escalation.step' AND attempts > 1 "
                "AND (payload->>'step')::int = ANY(:ids)"
            ),
            {"ids": steps},
        )
    missed = sum(1 for s in steps if pages.get(s, 0) == 0)
    duplicated = sum(n - 1 for n in pages.values() if n > 1)
    return lateness, missed, duplicated, int(rerun or 0)


def _row(name: str, figures: tuple[float, float, float]) -> str:
    return name.ljust(26) + "".join(f"{v * 1000:>8.0f}ms" for v in figures)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument(
        "--window", type=float, default=180.0, help="seconds the steps fall due over"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TOCSIN_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    name = f"tocsin_bench_{uuid.uuid4().hex[:8]}"
    await _admin(args.postgres, f'CREATE DATABASE "{name}"')
    url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    db = Database(Settings(database_url=url))
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await policies.apply(session, SYSTEM, POLICY, clock=VirtualClock(SystemClock().now()))
        began = time.monotonic()
        await _declare_all(db, 2 * args.incidents)
        print(f"declared {2 * args.incidents} incidents in {time.monotonic() - began:.0f}s")
        # Park the steps (overdue since their past declaration) until their run.
        await _retime(db, "escalation.step", SystemClock().now() + timedelta(days=1), 0)

        baseline_count = max(args.incidents // 5, 100)
        baseline_window = args.window * baseline_count / args.incidents
        async with db.write() as session:
            for _ in range(baseline_count):
                await jobs.enqueue(session, "bench.noop", {}, clock=SystemClock())
        print(f"baseline: {baseline_count} no-op jobs due over {baseline_window:.0f}s")
        await _phase(db, url, "bench.noop", baseline_window, None, None)
        baseline = _figures(await _noop_lateness(db))

        results = []
        for name, kill_at in (("steady", None), ("worker killed", args.window / 2)):
            print(f"{name}: {args.incidents} steps due over {args.window:.0f}s")
            steps = await _phase(db, url, "escalation.step", args.window, kill_at, args.incidents)
            results.append((name, steps, await _escalation_figures(db, steps)))

        workers = f"2 worker processes x {CONCURRENCY} job loops, lease {LEASE_SECONDS}s"
        print(f"\nlateness (fired - due), PostgreSQL, {workers}")
        print(" " * 26 + "".join(f"{h:>10}" for h in ("p50", "p99", "max")))
        print(_row("no-op job (baseline)", baseline))
        for name, _, (lateness, _, _, _) in results:
            figures = _figures(lateness)
            print(_row(f"escalation, {name}", figures))
            ratios = "".join(f"{f / b:>9.1f}x" for f, b in zip(figures, baseline, strict=True))
            print("  ratio to baseline".ljust(26) + ratios)
        print()
        for name, steps, (lateness, missed, duplicated, rerun) in results:
            print(
                f"{name}: {len(steps)} steps, {len(lateness)} fired, missed pages {missed}, "
                f"duplicated pages {duplicated}, jobs claimed again after a lost lease {rerun}"
            )
        steady_p99 = _figures(results[0][2][0])[1]
        print(f"target p99 < 1000ms (steady run): {'met' if steady_p99 < 1 else 'NOT met'}")
    finally:
        await db.dispose()
        await _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
