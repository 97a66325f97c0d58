"""A monthly report over 1,000,000 incidents on PostgreSQL (issue 7: under 1 s).

The incidents are written by one ``INSERT ... SELECT FROM generate_series`` (not the
service layer), spread evenly over ``--months`` months of 2025 (default 12: a month holds
about 83,000 of them; ``--months 1`` puts all of them in January), with durations, SLA due
times, teams, services, root causes, drills (excluded type) and restricted incidents, plus
postmortems and action items. Then ``period_report`` for the month is timed (best of
``--runs`` warm runs, and the first), in total and by severity, for an admin and for a
person who sees no restricted incident. Baseline, same run: a plain ``COUNT(*)`` over the
month's incidents (the ``declared_at`` index).

    .venv/bin/python bench/reports.py [--incidents 1000000] [--months 12] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from harness import cpu_seconds, drop_database, fresh_database, used
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.clock import VirtualClock
from tocsin.db import Database
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.reports import periods
from tocsin.reports import service as reports
from tocsin.reports.schemas import GroupBy
from tocsin.settings import Settings

POLICY = resources.files("tocsin.policy").joinpath("default.yaml").read_text(encoding="utf-8")
AS_OF = datetime(2026, 1, 15, tzinfo=UTC)

#: One row per n in 1..:n; all figures derive from n so the load is one statement.
LOAD = """
INSERT INTO incidents (
    ref, title, summary, severity, type, status, restricted, policy_version_id, components,
    business_impact, users_affected, started_at, detected_at, declared_at, acknowledged_at,
    identified_at, mitigated_at, resolved_at, sla_due, sla_acknowledge_due_at,
    sla_mitigate_due_at, sla_resolve_due_at, team, service, root_cause)
SELECT
    'B-' || n, 'bench ' || n, '', sev, typ, CASE WHEN open THEN 'investigating' ELSE 'resolved' END,
    typ = 'security', :version, '[]', '', n % 1000,
    CASE WHEN n % 3 = 0 THEN det - make_interval(secs => n % 900) END,
    det, det + interval '1 minute', ack, CASE WHEN open THEN NULL ELSE mit END,
    CASE WHEN open THEN NULL ELSE mit END, CASE WHEN open THEN NULL ELSE mit + make_interval(secs => n % 7200) END,
    '{}', det + interval '15 minutes', ack + interval '1 hour', det + interval '8 hours',
    (ARRAY['web', 'data', 'mobile', 'platform'])[1 + n % 4],
    (ARRAY['api', 'db', 'web', 'search', 'billing'])[1 + n % 5],
    (ARRAY['code-change', 'configuration-change', 'capacity', 'third-party', NULL])[1 + n % 5]
FROM (
    SELECT n, det, ack, ack + make_interval(secs => n % 3600) AS mit, sev, typ, open
    FROM (
        SELECT n,
            start + (n * span) AS det,
            start + (n * span) + make_interval(secs => 60 + n % 1800) AS ack,
            (ARRAY['SEV1', 'SEV2', 'SEV2', 'SEV3', 'SEV3', 'SEV3', 'SEV4', 'SEV4', 'SEV4', 'SEV4'])[1 + n % 10] AS sev,
            CASE WHEN n % 50 = 0 THEN 'drill' WHEN n % 97 = 0 THEN 'security'
                 ELSE (ARRAY['outage', 'performance-degradation', 'third-party', 'deployment-failure'])[1 + n % 4]
            END AS typ,
            n % 100 = 1 AS open
        FROM generate_series(1, :count) AS n,
             LATERAL (SELECT timestamptz '2025-01-01 00:00+00' AS start,
                             make_interval(secs => :seconds / CAST(:count AS float8)) AS span) AS s
    ) AS base
) AS rows
"""
POSTMORTEMS = """
INSERT INTO postmortems (incident_id, status, template, locale, title, fields, sections,
    reviewers, author, created_at, updated_at, due_at, finalized_at)
SELECT id, (ARRAY['draft', 'in_review', 'final', 'final'])[1 + id % 4], 'bench', 'en',
    'Postmortem', '[]', '[]', '[]', 'bench', resolved_at, resolved_at,
    resolved_at + interval '48 hours', NULL
FROM incidents WHERE severity = 'SEV1' AND resolved_at IS NOT NULL
"""
ACTION_ITEMS = """
INSERT INTO action_items (incident_id, number, title, description, status, owner, team,
    priority, due_at, created_at, updated_at, created_by)
SELECT id, k, 'item', '', (ARRAY['open', 'in_progress', 'done', 'wont_do'])[1 + (id + k) % 4],
    'bench', 'web', 'medium', resolved_at + interval '14 days', resolved_at, resolved_at, 'bench'
FROM incidents, generate_series(1, 2) AS k
WHERE severity IN ('SEV1', 'SEV2') AND resolved_at IS NOT NULL
"""


async def load(db: Database, count: int, months: int) -> dict[str, int]:
    async with db.write() as session:
        version, _ = await policies.current(session)
        seconds = 86400 * 365 * months / 12
        await session.execute(
            text(LOAD), {"version": version.id, "count": count, "seconds": seconds}
        )
        await session.execute(text(POSTMORTEMS))
        await session.execute(text(ACTION_ITEMS))
    async with db.write_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE incidents"))
        await conn.execute(text("VACUUM ANALYZE postmortems"))
        await conn.execute(text("VACUUM ANALYZE action_items"))
    counts = {}
    async with db.read() as session:
        for table in ("incidents", "postmortems", "action_items"):
            counts[table] = int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    return counts


@dataclass
class Figures:
    """Best of the warm runs: wall time, and the CPU time the database server process and
    this process spent (less sensitive than wall time to a busy shared machine)."""

    first: float
    wall: float
    server_cpu: float
    client_cpu: float


async def timed(db: Database, runs: int, op: Callable[[AsyncSession], Awaitable[Any]]) -> Figures:
    """The first run, then the best of ``runs`` more, each in a read transaction."""
    samples: list[tuple[float, float, float]] = []
    for _ in range(runs + 1):
        async with db.read() as session:
            pid = int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)
            server, client, wall = cpu_seconds([pid]), time.process_time(), time.perf_counter()
            await op(session)
            wall = time.perf_counter() - wall
            samples.append((wall, used(server, cpu_seconds([pid])), time.process_time() - client))
    best = min(samples[1:])
    return Figures(samples[0][0], *best)


async def run(url: str, count: int, months: int, runs: int) -> None:
    await fresh_database(url)
    db = Database(Settings(database_url=url))
    clock = VirtualClock(AS_OF)
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await policies.apply(session, SYSTEM, POLICY, clock=clock, source="default.yaml")
            viewer: Actor = auth.actor_for(
                await auth.create_user(session, SYSTEM, "viewer@example.com", clock=clock)
            )
        started = time.perf_counter()
        counts = await load(db, count, months)
        loaded = time.perf_counter() - started
        month = periods.parse("2025-06" if months >= 6 else "2025-01")
        start, end = month.bounds(UTC)

        count_month = text(
            "SELECT count(*) FROM incidents WHERE declared_at >= :s AND declared_at < :e"
        )

        async def baseline(session: AsyncSession) -> None:
            await session.execute(count_month, {"s": start, "e": end})

        def report(actor: Actor, by: GroupBy | None) -> Callable[[AsyncSession], Awaitable[Any]]:
            async def go(session: AsyncSession) -> None:
                await reports.period_report(session, actor, month, by=by, clock=clock)

            return go

        async def scrape(session: AsyncSession) -> None:
            await reports.metrics(session, SYSTEM, clock=clock)

        async with db.read() as session:
            in_month = await session.scalar(count_month, {"s": start, "e": end})
            total = (await reports.period_report(session, SYSTEM, month, clock=clock)).total
        base = await timed(db, runs, baseline)
        print(f"[postgresql] load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"  rows: {counts['incidents']:,} incidents ({in_month:,} declared in {month.label}),"
            f" {counts['postmortems']:,} postmortems, {counts['action_items']:,} action items;"
            f" loaded in {loaded:.1f} s"
        )
        print(
            f"  {month.label} counted: {total.incidents:,} incidents (drills left out),"
            f" MTTA {total.tta.mean} s, SLA compliance {total.sla.compliance_pct} %"
        )
        print(
            f"  {'':<36} {'wall':>9} {'first':>9} {'server CPU':>11} {'client CPU':>11}"
            f" {'wall / baseline':>16}"
        )
        cases: list[tuple[str, Callable[[AsyncSession], Awaitable[Any]]]] = [
            ("baseline: COUNT(*) over the month", baseline),
            ("report, admin", report(SYSTEM, None)),
            ("report by severity, admin", report(SYSTEM, "severity")),
            ("report, non-admin (visibility)", report(viewer, None)),
            ("/metrics (all incidents, all time)", scrape),
        ]
        for label, op in cases:
            f = base if op is baseline else await timed(db, runs, op)
            verdict = "" if op in (baseline, scrape) else (" OK" if f.wall < 1 else " OVER 1 s")
            print(
                f"  {label:<36} {f.wall * 1000:6.0f} ms {f.first * 1000:6.0f} ms"
                f" {f.server_cpu * 1000:8.0f} ms {f.client_cpu * 1000:8.0f} ms"
                f" {f.wall / base.wall:15.1f}x{verdict}"
            )
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12, help="spread over this many months")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/tocsin_bench_reports"
    )
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    args = parser.parse_args()
    url = make_url(args.postgres).render_as_string(hide_password=False)
    try:
        await run(url, args.incidents, args.months, args.runs)
    finally:
        if not args.keep:  # a million rows are half a gigabyte of someone's disk
            await drop_database(url)


if __name__ == "__main__":
    asyncio.run(main())
