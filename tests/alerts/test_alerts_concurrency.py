"""200 concurrent identical triggers: one alert with count 200 and one incident, on both
databases, through the real app and real job workers running at the same time; and the
database itself refusing a second open alert for a key."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from tests.alerts.conftest import make_integration, trigger

from tocsin.alerts.models import Alert, AlertEvent, Integration
from tocsin.app import create_app
from tocsin.context import Context
from tocsin.db import Database
from tocsin.incidents.models import Incident
from tocsin.jobs.registry import load_handlers
from tocsin.jobs.worker import Worker

REQUESTS = 200
#: Server processes and job workers stood in for by separate engines.
SERVERS = 4
WORKERS = 3


async def _all_processed(ctx: Context, expected: int, within: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        async with ctx.db.read() as session:
            done = await session.scalar(
                select(func.count()).select_from(AlertEvent).where(AlertEvent.outcome.is_not(None))
            )
        if done == expected:
            return
        if loop.time() > deadline:
            pytest.fail(f"only {done} of {expected} events processed in {within:.0f}s")
        await asyncio.sleep(0.1)


async def test_200_concurrent_identical_triggers_make_one_alert_and_one_incident(
    ready: Context,
) -> None:
    key = await make_integration(ready)
    load_handlers(ready.settings)
    async with AsyncExitStack() as stack:
        engines = [Database(ready.settings) for _ in range(SERVERS + WORKERS)]
        for db in engines:
            stack.push_async_callback(db.dispose)
        clients = []
        for db in engines[:SERVERS]:
            app = create_app(ready.settings, clock=ready.clock, database=db)
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            stack.push_async_callback(http.aclose)
            clients.append(http)
        # Workers run while the requests come in, as in production.
        workers = [
            Worker(db, ready.clock, f"worker-{n}", idle_cap=timedelta(seconds=1))
            for n, db in enumerate(engines[SERVERS:])
        ]
        tasks = [asyncio.create_task(w.run_forever()) for w in workers]
        try:
            await asyncio.gather(*(w.ready.wait() for w in workers))
            event = trigger(key, "Checkout is down", dedup_key="checkout-down")
            responses = await asyncio.gather(
                *(clients[n % SERVERS].post("/v2/enqueue", json=event) for n in range(REQUESTS))
            )
            assert [r.status_code for r in responses] == [202] * REQUESTS
            assert {r.json()["dedup_key"] for r in responses} == {"checkout-down"}
            await _all_processed(ready, REQUESTS)
        finally:
            for w in workers:
                w.stop()
            await asyncio.gather(*tasks)
    assert sum(w.ran for w in workers) >= 1
    async with ready.db.read() as session:
        alerts = (await session.scalars(select(Alert))).all()
        outcomes = (await session.scalars(select(AlertEvent.outcome))).all()
        incidents = (await session.scalars(select(Incident))).all()
    assert [(a.count, a.status, a.dedup_key) for a in alerts] == [
        (REQUESTS, "triggered", "checkout-down")
    ]
    assert sorted(outcomes) == ["opened"] + ["updated"] * (REQUESTS - 1)
    assert len(incidents) == 1 and alerts[0].incident_id == incidents[0].id


async def test_the_database_allows_one_open_alert_per_key(ready: Context) -> None:
    await make_integration(ready)
    async with ready.db.read() as session:
        integration = await session.scalar(select(Integration))
    assert integration is not None
    now = ready.clock.now()

    def alert(status: str) -> Alert:
        return Alert(
            integration_id=integration.id,
            dedup_key="k",
            status=status,
            summary="s",
            severity="info",
            source="h",
            count=1,
            detected_at=now,
            created_at=now,
            last_seen_at=now,
        )

    async with ready.db.write() as session:
        session.add_all([alert("resolved"), alert("resolved"), alert("triggered")])
    for status in ("triggered", "acknowledged"):
        with pytest.raises(IntegrityError):
            async with ready.db.write() as session:
                session.add(alert(status))
