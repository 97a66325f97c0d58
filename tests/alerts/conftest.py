"""Shared fixtures for the alert tests: a policy, an app, an integration and its key, jobs.

``ready`` is a database with the default policy plus a team and an integration declared in
the policy (``prometheus``, no key yet). ``enqueue`` posts one event to ``/v2/enqueue``
(no token: the routing key authenticates); ``drain`` runs due jobs until none is left, as
the worker in ``tocsin serve`` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.apps import app_for

from tocsin.alerts import service as alerts
from tocsin.alerts.schemas import IntegrationIn
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.jobs.registry import load_handlers
from tocsin.jobs.worker import run_due
from tocsin.policy import service as policies

Enqueue = Callable[..., Awaitable[httpx.Response]]
DEFAULT_POLICY = (
    Path(__file__).resolve().parents[2] / "examples" / "policies" / "default.yaml"
).read_text(encoding="utf-8")
ALERTS_POLICY = """
teams:
  - key: payments
    name: Payments
integrations:
  - key: prometheus
    name: Prometheus
    type: pagerduty
    service: checkout
    team: payments
"""


async def apply_policy_text(ctx: Context, extra: str = ALERTS_POLICY) -> None:
    """Apply the default policy with ``extra`` YAML sections appended."""
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, DEFAULT_POLICY + extra, clock=ctx.clock, source="alerts.yaml"
        )


async def token(
    ctx: Context, email: str, *, roles: tuple[str, ...] = (), admin: bool = False
) -> str:
    """A new person and an API token for them."""
    async with ctx.db.write() as session:
        await auth.create_user(session, SYSTEM, email, clock=ctx.clock, roles=roles, is_admin=admin)
        _, secret = await auth.create_token(session, SYSTEM, email, clock=ctx.clock)
    return secret


async def make_integration(
    ctx: Context, name: str = "Datadog", *, type_: str = "pagerduty", **fields: Any
) -> str:
    """A new integration; returns its secret key."""
    async with ctx.db.write() as session:
        made = await alerts.create_integration(
            session,
            SYSTEM,
            IntegrationIn(name=name, type=type_, **fields),  # type: ignore[arg-type]
            clock=ctx.clock,
            public_url=ctx.settings.public_url,
        )
    assert made.key is not None
    return made.key


async def drain(ctx: Context, worker: str = "test-worker") -> int:
    """Run due jobs until none is left; returns how many ran."""
    load_handlers(ctx.settings)
    ran = 0
    while True:
        step = await run_due(ctx.db, ctx.clock, worker, limit=500)
        if not step:
            return ran
        ran += step


def trigger(key: str, summary: str = "Checkout 5xx above 50%", **extra: Any) -> dict[str, Any]:
    """A valid trigger event for the integration key ``key``."""
    event: dict[str, Any] = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": summary, "source": "web-01", "severity": "critical"},
    }
    event.update(extra)
    return event


@pytest.fixture
async def ready(ctx: Context) -> Context:
    await apply_policy_text(ctx)
    return ctx


@pytest.fixture
async def app_client(ready: Context) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no token, for ``/v2/enqueue``."""
    app = app_for(ready.settings, clock=ready.clock, database=ready.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


HttpFor = Callable[[str | None], httpx.AsyncClient]


@pytest.fixture
async def http_as(ready: Context) -> AsyncIterator[HttpFor]:
    """Clients of one app for a bearer token (or none)."""
    app = app_for(ready.settings, clock=ready.clock, database=ready.db)
    clients: list[httpx.AsyncClient] = []

    def make(secret: str | None) -> httpx.AsyncClient:
        headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
        )
        clients.append(http)
        return http

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
async def admin(ready: Context, http_as: HttpFor) -> httpx.AsyncClient:
    return http_as(await token(ready, "admin@example.com", admin=True))


@pytest.fixture
async def key(ready: Context) -> str:
    return await make_integration(ready)


@pytest.fixture
def enqueue(app_client: httpx.AsyncClient) -> Enqueue:
    async def post(body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["json"] = body
        return await app_client.post("/v2/enqueue", **kwargs)

    return post
