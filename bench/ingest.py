"""Alert intake: ``POST /v2/enqueue`` events per second and latency. PostgreSQL only.

The production set-up: ``tocsin serve --no-worker --workers N`` (N uvicorn processes; job
workers would run elsewhere), on a fresh database with one PagerDuty integration. A closed
loop of ``--connections`` HTTP/1.1 keep-alive connections sends triggers, each as soon as
the previous answer arrived: half with a new dedup key, half repeating one of 20 keys.
The load generator is raw asyncio streams with pre-built request bytes (only an 8-digit
counter is formatted per request), so that it takes little of the CPU it measures.

Baseline, same run, same server processes, same bodies: ``POST /bench/bare`` (mounted by
``TOCSIN_BENCH_BARE_ENDPOINT=1`` only), which parses the JSON body and answers 202 as
``/v2/enqueue`` does, storing nothing. Printed: events/s, p50 / p99 / max latency of both,
their ratio, whether the target (issue 5: at least 2,000 events/s and at least 40 % of the
bare endpoint's rate) is met, and afterwards the database's count: every event answered
202 must be stored with its job (lost = 0).

Both endpoints are measured in turns (``--rounds``), so that both see the same load of
whatever else runs on the machine; the load average is printed with the figures.

    .venv/bin/python bench/ingest.py [--workers 2] [--connections 64] [--seconds 15]
        [--rounds 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from harness import (
    backends,
    children,
    cpu_seconds,
    figures,
    free_port,
    fresh_database,
    tocsin,
    used,
    wait_ready,
)
from sqlalchemy import func, select
from wire import read_message

from tocsin.alerts import service as alerts
from tocsin.alerts.models import AlertEvent
from tocsin.alerts.schemas import IntegrationIn
from tocsin.auth.actor import SYSTEM
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.jobs.models import Job
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.settings import Settings

TARGET_RATE = 2000.0
TARGET_RATIO = 0.40
#: Dedup keys that repeat (the other half of the events each have a new one).
REPEATED_KEYS = 20
WARM_UP_SECONDS = 2.0
BARE_PATH = "/bench/bare"
ENQUEUE_PATH = "/v2/enqueue"
POLICY = resources.files("tocsin.policy").joinpath("default.yaml").read_text(encoding="utf-8")
#: The default policy limits each integration to 1,000 events/s per process: a load test
#: of one integration turns that off.
NO_RATE_LIMIT = "\nalerts:\n  rate_limit: null\n"


async def _prepare(url: str) -> str:
    """A fresh database with the default policy and one integration; its key."""
    await fresh_database(url)
    db = Database(Settings(database_url=url))
    clock = SystemClock()
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await policies.apply(session, SYSTEM, POLICY + NO_RATE_LIMIT, clock=clock)
            made = await alerts.create_integration(
                session,
                SYSTEM,
                IntegrationIn(name="Bench", type="pagerduty"),
                clock=clock,
                public_url="http://127.0.0.1",
            )
    finally:
        await db.dispose()
    assert made.key is not None
    return made.key


def _requests(path: str, key: str, run: str) -> Callable[[int], bytes]:
    """The ``n``-th request: even ``n`` a new dedup key, odd ``n`` one of the repeated ones.
    Both kinds have bodies of one length (an 8-digit number), so the head is built once."""

    def body(kind: str) -> bytes:
        event = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": f"{kind}-{run}-%08d",
            "payload": {
                "summary": "Checkout 5xx above half of the requests on web-01",
                "source": "web-01.example.org",
                "severity": "critical",
                "component": "checkout",
                "group": "web",
                "class": "http-5xx",
                "custom_details": {"error rate": "0.62", "region": "eu-west-1"},
            },
        }
        return json.dumps(event).encode()

    new, repeated = body("new"), body("old")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(new % 0)}\r\n\r\n"
    ).encode()
    new, repeated = head + new, head + repeated

    def request(n: int) -> bytes:
        return new % n if n % 2 == 0 else repeated % (n % REPEATED_KEYS)

    return request


@dataclass
class Phase:
    """What one phase of load measured."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    #: Events per second of each round.
    rounds: list[float] = field(default_factory=list)
    #: CPU seconds the server's processes and its PostgreSQL backends used meanwhile.
    cpu: float = 0.0
    db_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _load(
    port: int, request: Callable[[int], bytes], connections: int, seconds: float, phase: Phase
) -> None:
    """A closed loop over ``connections`` keep-alive connections for ``seconds``."""
    numbers = itertools.count()
    stop = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                data = request(next(numbers))
                start = time.perf_counter()
                writer.write(data)
                start_line, _ = await read_message(reader)
                status = int(start_line[9:12])
                phase.latencies.append(time.perf_counter() - start)
                phase.statuses[status] += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    phase.seconds += time.perf_counter() - began


async def _measure(
    port: int, request: Callable[[int], bytes], args: argparse.Namespace, server: int, into: Phase
) -> None:
    """One round of load, added to ``into`` with the CPU it cost."""
    servers, database = children(server), await backends(args.postgres)
    before = cpu_seconds(servers), cpu_seconds(database)
    count, seconds = len(into.latencies), into.seconds
    await _load(port, request, args.connections, args.seconds / args.rounds, into)
    into.rounds.append((len(into.latencies) - count) / (into.seconds - seconds))
    into.cpu += used(before[0], cpu_seconds(servers))
    into.db_cpu += used(before[1], cpu_seconds(database))


async def _stored(url: str) -> tuple[int, int]:
    """Events stored, and events with a job to process them (the job of their transaction)."""
    db = Database(Settings(database_url=url))
    try:
        async with db.read() as session:
            events = int(await session.scalar(select(func.count()).select_from(AlertEvent)) or 0)
            payloads = (await session.scalars(select(Job.payload))).all()
    finally:
        await db.dispose()
    with_job: set[int] = set()
    for payload in payloads:  # {"events": [ids]}: a transaction's; {"event": id}: one's
        with_job.update(payload.get("events", []))
        with_job.update([payload["event"]] if "event" in payload else [])
    return events, len(with_job)


def _row(name: str, phase: Phase) -> str:
    p50, p99, worst = figures(phase.latencies)
    return (
        f"{name:<28} {phase.rate:8.0f} events/s   p50 {p50 * 1000:6.1f} ms   "
        f"p99 {p99 * 1000:6.1f} ms   max {worst * 1000:6.1f} ms   "
        f"CPU/event: server {phase.cpu / len(phase.latencies) * 1e6:4.0f} µs, "
        f"PostgreSQL {phase.db_cpu / len(phase.latencies) * 1e6:4.0f} µs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each endpoint")
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/tocsin_bench_ingest"
    )
    args = parser.parse_args()

    key = await _prepare(args.postgres)
    port = free_port()
    server = tocsin(
        args.postgres,
        *("serve", "--no-worker", "--port", str(port), "--workers", str(args.workers)),
        env={"TOCSIN_BENCH_BARE_ENDPOINT": "1"},
    )
    bare, ingest, warm = Phase(), Phase(), Phase()
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        for path, into in ((BARE_PATH, Phase()), (ENQUEUE_PATH, warm)):
            await _load(port, _requests(path, key, "w"), args.connections, WARM_UP_SECONDS, into)
        # Rounds in turn, so that both endpoints see the same background load.
        for n in range(args.rounds):
            await _measure(port, _requests(BARE_PATH, key, f"b{n}"), args, server.pid, bare)
            await _measure(port, _requests(ENQUEUE_PATH, key, f"m{n}"), args, server.pid, ingest)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    events, with_job = await _stored(args.postgres)

    print(
        f"load average (1, 5, 15 min) after the run: {', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        f"{args.workers} server processes (tocsin serve --no-worker), PostgreSQL, "
        f"{args.connections} connections, {args.seconds:g} s each in {args.rounds} rounds, "
        f"{REPEATED_KEYS} repeated keys + new keys 1:1"
    )
    print(_row("bare endpoint (baseline)", bare))
    print(_row("/v2/enqueue", ingest))
    for name, phase in (("bare", bare), ("/v2/enqueue", ingest)):
        print(f"  {name} by round: {', '.join(f'{r:.0f}' for r in phase.rounds)} events/s")
    ratio = ingest.rate / bare.rate if bare.rate else 0.0
    print(f"ratio /v2/enqueue to bare: {ratio:.0%}")
    for name, phase in (("bare", bare), ("/v2/enqueue", ingest)):
        others = {s: n for s, n in phase.statuses.items() if s != 202}
        if others:
            print(f"{name}: answers other than 202: {others}")
    accepted = ingest.statuses[202] + warm.statuses[202]
    lost = accepted - events
    print(
        f"stored: {events} events for {accepted} answered 202 (lost {lost}), "
        f"{with_job} with their job"
    )
    met = ingest.rate >= TARGET_RATE and ratio >= TARGET_RATIO and lost == 0 == events - with_job
    print(
        f"target >= {TARGET_RATE:,.0f} events/s and >= {TARGET_RATIO:.0%} of bare, nothing lost: "
        f"{'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
