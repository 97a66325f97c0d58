"""The public status page under load: ``GET /status`` and ``GET /api/v2/summary.json``,
requests per second and latency. PostgreSQL only.

The production set-up: ``tocsin serve --no-worker --workers N`` on a fresh database whose
page has 50 components (5 groups of 10) and 1,000 past incidents (each published,
identified and resolved through the status page's services, spread over the last 395
days, so the 90-day uptime bars have real history), plus one open incident and one
scheduled maintenance. A closed loop of ``--connections`` HTTP/1.1 keep-alive connections
sends GETs, each as soon as the previous answer arrived.

Baseline, same run, same server processes: ``GET /bench/bare/{size}`` (mounted by
``TOCSIN_BENCH_BARE_ENDPOINT=1`` only), which answers ``size`` bytes from memory with no
database: once with the size of the page (or of the JSON) measured, so that both send the
same bytes, and once with an empty body (the stack's fastest answer). Requests accept
gzip, as browsers do (the page is sent as a gzip copy made once per rendering). Printed:
requests/s and p50 / p99 / max latency of each, the ratios, and whether the target (issue
6: at least 50 % of the bare endpoint's rate, taken against its empty answer) is met. Endpoints are measured in turns (``--rounds``),
so that all see the same load of whatever else runs on the machine; the load average is
printed with the figures.

    .venv/bin/python bench/statuspage.py [--workers 2] [--connections 32] [--seconds 8]
        [--rounds 3] [--postgres URL] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import time
from datetime import timedelta
from importlib import resources

import httpx
import yaml
from harness import figures, free_port, fresh_database, tocsin, wait_ready
from ingest import Phase, _load, _measure

from tocsin.auth.actor import SYSTEM
from tocsin.clock import SystemClock, VirtualClock
from tocsin.db import Database
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.settings import Settings
from tocsin.statuspage import service
from tocsin.statuspage.schemas import MaintenanceIn, PublishIn, UpdateIn

TARGET_RATIO = 0.50
COMPONENTS = 50
INCIDENTS = 1000
#: Incidents published per transaction while seeding.
BATCH = 50
WARM_UP_SECONDS = 2.0
DEFAULT = resources.files("tocsin.policy").joinpath("default.yaml").read_text(encoding="utf-8")
BAD = ("degraded_performance", "partial_outage", "major_outage")


def _policy() -> str:
    """The default policy with 50 components in 5 groups."""
    data = yaml.safe_load(DEFAULT)
    data["components"] = [
        {"key": f"component-{n:02}", "name": f"Component {n:02}", "group": f"Group {n // 10 + 1}"}
        for n in range(COMPONENTS)
    ]
    return yaml.safe_dump(data, sort_keys=False)


async def _incident(session: object, clock: VirtualClock, n: int, rng: random.Random) -> None:
    keys = rng.sample([f"component-{i:02}" for i in range(COMPONENTS)], rng.randint(1, 3))
    row = await service.publish(
        session,  # type: ignore[arg-type]
        SYSTEM,
        PublishIn(
            name=f"Incident {n}: elevated errors on {', '.join(keys)}",
            body="We are investigating reports of errors. Some requests fail.",
            components={key: rng.choice(BAD) for key in keys},
            impact=rng.choice(("minor", "major", "critical")),
            deliver_notifications=False,
        ),
        clock=clock,
    )
    for status, body in (
        ("identified", "The cause is a faulty release; we are rolling it back."),
        ("resolved", "The release was rolled back and errors are back to normal."),
    ):
        clock.advance(minutes=rng.randint(10, 90))
        await service.post_update(
            session,  # type: ignore[arg-type]
            SYSTEM,
            row.public_id,
            UpdateIn(status=status, body=body, deliver_notifications=False),  # type: ignore[arg-type]
            clock=clock,
        )


async def _prepare(url: str) -> None:
    """A fresh database with the page: 50 components, 1,000 resolved incidents over the
    last 395 days, one open incident and one scheduled maintenance."""
    await fresh_database(url)
    db = Database(Settings(database_url=url))
    now = SystemClock().now()
    clock = VirtualClock(now - timedelta(days=396))
    rng = random.Random(6)
    step = timedelta(days=395) / INCIDENTS
    began = time.perf_counter()
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await policies.apply(session, SYSTEM, _policy(), clock=clock)
        for first in range(0, INCIDENTS, BATCH):
            async with db.write() as session:
                for n in range(first, min(first + BATCH, INCIDENTS)):
                    mark = clock.now()
                    await _incident(session, clock, n + 1, rng)
                    clock.set(max(clock.now(), mark + step))
        clock.set(now - timedelta(minutes=5))
        async with db.write() as session:
            await service.publish(
                session,
                SYSTEM,
                PublishIn(
                    name="Slow dashboards",
                    body="Dashboards load slowly; we are looking into it.",
                    components={"component-07": "degraded_performance"},
                    impact="minor",
                    deliver_notifications=False,
                ),
                clock=clock,
            )
            await service.schedule_maintenance(
                session,
                SYSTEM,
                MaintenanceIn(
                    name="Database upgrade",
                    body="A short pause of writes while the database is upgraded.",
                    scheduled_for=now + timedelta(days=3),
                    scheduled_until=now + timedelta(days=3, hours=1),
                    components=["component-01"],
                    deliver_notifications=False,
                ),
                clock=clock,
            )
    finally:
        await db.dispose()
    print(f"seeded {INCIDENTS} incidents in {time.perf_counter() - began:.0f} s")


def _get(path: str) -> bytes:
    """A GET as browsers send it, accepting gzip."""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n".encode()


def _row(name: str, phase: Phase) -> str:
    p50, p99, worst = figures(phase.latencies)
    return (
        f"{name:<34} {phase.rate:8.0f} requests/s   p50 {p50 * 1000:6.1f} ms   "
        f"p99 {p99 * 1000:6.1f} ms   max {worst * 1000:6.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each endpoint")
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/tocsin_bench_statuspage",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database seeded by an earlier run"
    )
    args = parser.parse_args()

    if not args.reuse:
        await _prepare(args.postgres)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = tocsin(
        args.postgres,
        *("serve", "--no-worker", "--port", str(port), "--workers", str(args.workers)),
        env={"TOCSIN_BENCH_BARE_ENDPOINT": "1", "TOCSIN_PUBLIC_URL": base},
    )
    paths = ("/status", "/api/v2/summary.json")
    try:
        await wait_ready(base)
        async with httpx.AsyncClient(base_url=base) as http:
            gzip = {"Accept-Encoding": "gzip"}
            answers = {path: await http.get(path, headers=gzip) for path in paths}
            sizes = {path: int(answers[path].headers["content-length"]) for path in paths}
            plain = {path: len(answers[path].content) for path in paths}
        endpoints = {
            "bare, empty body": "/bench/bare/0",
            **{f"bare, {sizes[p]:,} bytes": f"/bench/bare/{sizes[p]}" for p in paths},
            **{p: p for p in paths},
        }
        phases = {name: Phase() for name in endpoints}
        for path in endpoints.values():
            request = _get(path)
            await _load(port, lambda _, r=request: r, args.connections, WARM_UP_SECONDS, Phase())
        for _ in range(args.rounds):
            for name, path in endpoints.items():
                request = _get(path)
                await _measure(port, lambda _, r=request: r, args, server.pid, phases[name])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    print(
        f"load average (1, 5, 15 min) after the run: {', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        f"{args.workers} server processes (tocsin serve --no-worker), PostgreSQL, "
        f"{COMPONENTS} components, {INCIDENTS} past incidents, {args.connections} connections, "
        f"{args.seconds:g} s each in {args.rounds} rounds; clients accept gzip, as browsers "
        f"do: " + ", ".join(f"{p} {plain[p]:,} bytes sent as {sizes[p]:,}" for p in paths)
    )
    for name, phase in phases.items():
        print(_row(name, phase))
        others = {s: n for s, n in phase.statuses.items() if s != 200}
        if others:
            print(f"  answers other than 200: {others}")
    met = True
    empty = phases["bare, empty body"].rate
    for path in paths:
        rate = phases[path].rate
        same = phases[f"bare, {sizes[path]:,} bytes"].rate
        ratio = rate / empty if empty else 0.0
        met = met and ratio >= TARGET_RATIO
        print(
            f"ratio {path} to bare: {ratio:.0%} (empty body), "
            f"{rate / same if same else 0.0:.0%} (same body size)"
        )
    print(
        f"target >= {TARGET_RATIO:.0%} of the bare endpoint's rate (its empty answer): "
        f"{'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
