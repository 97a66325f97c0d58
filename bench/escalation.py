"""Escalation under load, with a worker killed mid-run. PostgreSQL only.

10,000 incidents whose first escalation step (a page) falls due over a three-minute window
are worked off by two ``tocsin worker`` processes. In the middle of the window one worker
is killed with SIGKILL and started again. Printed: p50 / p99 / max lateness of fired steps
(fired - due), and the counts of missed and duplicated pages (pages on the timeline per
step: 0 is missed, more than 1 is duplicated).

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


async def _retime(db: Database, kind: str, start: datetime, window: float) -> int:
    """Spread the pending jobs of ``kind`` evenly over [start, start + window]."""
    async with db.write() as session:
        ids = list(
            (
                await session.execute(
                    text("SELECT id FROM jobs WHERE kind = :k AND status = 'pending' ORDER BY id"),
                    {"k": kind},
                )
            ).scalars()
        )
        step = window / max(len(ids), 1)
        for n, job_id in enumerate(ids):
            due = start + timedelta(seconds=n * step)
            await session.execute(
                text("UPDATE jobs SET due_at = :d WHERE id = :i"), {"d": due, "i": job_id}
            )
            if kind == "escalation.step":
                await session.execute(
                    text(
                        "UPDATE escalation_steps SET due_at = :d WHERE id = "
                        "(SELECT (payload->>'step')::int FROM jobs WHERE id = :i)"
                    ),
                    {"d": due, "i": job_id},
                )
    return len(ids)


def _start_worker(url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": url,
        "TOCSIN_HANDLER_MODULES": "bench_noop",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-c", "from tocsin.cli.main import main; main()", "worker"]
    command += ["--lease", str(LEASE_SECONDS)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def _wait_done(db: Database, kind: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        async with db.read() as session:
            left = await session.scalar(
                text(
                    "SELECT count(*) FROM jobs WHERE kind = :k AND status IN ('pending', 'running')"
                ),
                {"k": kind},
            )
        if not left:
            return
        await asyncio.sleep(0.5)


def _figures(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


async def _phase(db: Database, url: str, kind: str, window: float, kill_at: float | None) -> None:
    start = SystemClock().now() + timedelta(seconds=5)
    await _retime(db, kind, start, window)
    workers = [_start_worker(url), _start_worker(url)]
    try:
        if kill_at is not None:
            await asyncio.sleep(5 + kill_at)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            print(f"  killed worker 1 (SIGKILL) at +{kill_at:.0f}s; restarting it in 2s")
            await asyncio.sleep(2)
            workers[0] = _start_worker(url)
        await _wait_done(db, kind, time.monotonic() + window + 5 + 4 * LEASE_SECONDS + 30)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)


async def _noop_lateness(db: Database) -> list[float]:
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT extract(epoch FROM finished_at - due_at) FROM jobs "
                "WHERE kind = 'bench.noop' AND status = 'done'"
            )
        )
        return [float(v) for (v,) in rows]


async def _escalation_figures(db: Database) -> tuple[list[float], int, int, int, int]:
    async with db.read() as session:
        lateness = [
            float(v)
            for (v,) in await session.execute(
                text(
                    "SELECT extract(epoch FROM settled_at - due_at) FROM escalation_steps "
                    "WHERE status = 'fired'"
                )
            )
        ]
        pages = dict(
            (int(step), int(n))
            for step, n in await session.execute(
                text(
                    "SELECT (data->'after'->>'step')::int, count(*) FROM incident_events "
                    "WHERE kind = 'page' GROUP BY 1"
                )
            )
        )
        steps = list((await session.execute(text("SELECT id FROM escalation_steps"))).scalars())
        rerun = await session.scalar(
            text("SELECT count(*) FROM jobs WHERE kind = 'escalation.step' AND attempts > 1")
        )
    missed = sum(1 for s in steps if pages.get(s, 0) == 0)
    duplicated = sum(n - 1 for n in pages.values() if n > 1)
    return lateness, len(steps), missed, duplicated, int(rerun or 0)


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
        await _declare_all(db, args.incidents)
        print(f"declared {args.incidents} incidents in {time.monotonic() - began:.0f}s")

        # Park the steps (overdue since their past declaration) while the baseline runs.
        await _retime(db, "escalation.step", SystemClock().now() + timedelta(days=1), 0)
        baseline_count = max(args.incidents // 5, 100)
        baseline_window = args.window * baseline_count / args.incidents
        async with db.write() as session:
            for _ in range(baseline_count):
                await jobs.enqueue(
                    session, "bench.noop", {}, clock=VirtualClock(SystemClock().now())
                )
        print(f"baseline: {baseline_count} no-op jobs due over {baseline_window:.0f}s, 2 workers")
        await _phase(db, url, "bench.noop", baseline_window, None)
        base_p50, base_p99, base_max = _figures(await _noop_lateness(db))

        print(f"escalation: {args.incidents} steps due over {args.window:.0f}s, 2 workers")
        await _phase(db, url, "escalation.step", args.window, args.window / 2)
        lateness, steps, missed, duplicated, rerun = await _escalation_figures(db)
        p50, p99, worst = _figures(lateness)
        print()
        print(f"{'':24}{'p50':>10}{'p99':>10}{'max':>10}")
        print(
            f"{'no-op job (baseline)':24}{base_p50 * 1000:>8.0f}ms{base_p99 * 1000:>8.0f}ms{base_max * 1000:>8.0f}ms"
        )
        print(
            f"{'escalation step':24}{p50 * 1000:>8.0f}ms{p99 * 1000:>8.0f}ms{worst * 1000:>8.0f}ms"
        )
        print(
            f"{'ratio to baseline':24}{p50 / base_p50:>9.1f}x{p99 / base_p99:>9.1f}x{worst / base_max:>9.1f}x"
        )
        print()
        print(
            f"steps: {steps}, fired: {len(lateness)}, missed pages: {missed}, duplicated pages: {duplicated}"
        )
        print(f"jobs claimed again after the kill (their worker died holding them): {rerun}")
        print(
            f"target: p99 < 1000ms -> {'met' if p99 < 1 else 'NOT met'}; lease {LEASE_SECONDS}s bounds the killed worker's jobs (max)"
        )
    finally:
        await db.dispose()
        await _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
