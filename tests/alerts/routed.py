"""Helpers of the routing, grouping, mitigation and maintenance tests: a policy with routes,
a client of the app, sending PagerDuty events and reading what became of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select
from tests.alerts.conftest import ALERTS_POLICY, DEFAULT_POLICY, drain
from tests.apps import app_for

from tocsin.alerts import service as alerts
from tocsin.alerts.models import Alert, AlertEvent
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.db import Database
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.policy import service as policies

#: A commander with an e-mail, a channel that carries it (to a closed port: nothing is
#: sent, the outbox is what we read), and routes for the tests.
ROUTES_POLICY = """
people:
  - {key: ida, email: ida@example.com, name: Ida Commander, roles: [incident-commander]}
channels:
  - {key: mail, type: email, host: 127.0.0.1, port: 9, tls: none, from: tocsin@example.com}
alerts:
  default_severity: SEV4
  routes:
    - name: noise
      match: {severity: info}
      action: ignore
    - name: checkout-down
      match: {class: http-5xx}
      severity: SEV1
      type: outage
      components: [payments]
      team: payments
    - name: slow
      match: {summary: "(?i)slow"}
      severity: SEV3
      group_by: [class]
      group_window: 10m
    - name: db
      match: {component: database}
      severity: SEV2
      service: db
      resolve_incident_when_alerts_resolve: true
"""


async def apply(ctx: Context, extra: str = ROUTES_POLICY, *, base: str = DEFAULT_POLICY) -> str:
    """Apply the default policy, the ``prometheus`` integration (service checkout) and
    ``extra``; returns the integration's new key."""
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, base + ALERTS_POLICY + extra, clock=ctx.clock, source="routes.yaml"
        )
        made = await alerts.rotate_key(
            session, SYSTEM, "prometheus", clock=ctx.clock, public_url=ctx.settings.public_url
        )
    assert made.key is not None
    return made.key


@asynccontextmanager
async def client(ctx: Context, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = app_for(ctx.settings, clock=ctx.clock, database=ctx.db)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as http:
        yield http


def event(key: str, summary: str, dedup_key: str, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"summary": summary, "source": "web-01", "severity": "critical"}
    body.update(payload)
    return {"routing_key": key, "event_action": "trigger", "dedup_key": dedup_key, "payload": body}


def resolve(key: str, dedup_key: str) -> dict[str, Any]:
    return {"routing_key": key, "event_action": "resolve", "dedup_key": dedup_key}


async def send(ctx: Context, http: httpx.AsyncClient, *events: dict[str, Any]) -> None:
    """Post the events to ``/v2/enqueue`` and run the jobs they make."""
    for body in events:
        answer = await http.post("/v2/enqueue", json=body)
        assert answer.status_code == 202, answer.text
    await drain(ctx)


async def all_alerts(ctx: Context) -> list[Alert]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(Alert).order_by(Alert.id))).all())


async def all_incidents(ctx: Context) -> list[Incident]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def timeline(ctx: Context, incident: Incident, kind: str) -> list[IncidentEvent]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident.id, IncidentEvent.kind == kind)
            .order_by(IncidentEvent.id)
        )
        return list(rows.all())


async def waiting_events(ctx: Context) -> list[int]:
    """The ids of the events stored and not processed yet, in order."""
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(AlertEvent.id).where(AlertEvent.outcome.is_(None)).order_by(AlertEvent.id)
        )
        return list(rows.all())


async def two_workers_at_once(ctx: Context, first: int, second: int) -> bool:
    """Two workers, each its own engine: the first processes event ``first`` and, before
    it commits, the second starts on ``second``. Returns whether the second was still
    waiting (for a lock) when the first committed."""
    async with AsyncExitStack() as stack:
        one, two = Database(ctx.settings), Database(ctx.settings)
        stack.push_async_callback(one.dispose)
        stack.push_async_callback(two.dispose)

        async def process(db: Database, event_id: int) -> None:
            async with db.write() as session:
                await alerts.process(session, event_id, clock=ctx.clock)

        async with one.write() as session:
            await alerts.process(session, first, clock=ctx.clock)
            racer = asyncio.create_task(process(two, second))
            await asyncio.sleep(0.5)
            waited = not racer.done()
        await racer
    return waited
