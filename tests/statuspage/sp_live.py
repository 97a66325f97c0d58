"""Seed 004's policy with its e-mail channel at a real local SMTP server, and the live app
(its public doors and API) over HTTP, for the subscriber and marker tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.apps import app_for
from tests.conftest import SEED_004, add_user, token_for
from tests.notify.servers import Receiver, http_receiver, smtp_server

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.jobs.registry import load_handlers
from tocsin.policy import service as policies
from tocsin.simulate.runner import run_until

SECRET_ENV = "STATUS_PAGE_SUBSCRIBER_SECRET"
SECRET = "subscriber-webhook-secret"


def local_policy(smtp_port: int) -> str:
    """Seed 004's policy, its ``email`` channel at 127.0.0.1:``smtp_port``, webhook
    subscribers allowed on this host."""
    text = SEED_004.read_text(encoding="utf-8")
    old = (
        "    host: smtp.musiclearningcommunity.com\n    port: 587\n    tls: starttls\n"
        "    username: incidents@musiclearningcommunity.com\n    password_env: SMTP_PASSWORD\n"
    )
    assert text.count(old) == 1, "seed 004's e-mail channel changed"
    assert "status_page:" in text and "email_channel: email" in text
    text = text.replace(old, f"    host: 127.0.0.1\n    port: {smtp_port}\n    tls: none\n")
    # The test's webhook receiver listens on 127.0.0.1.
    secret = f"  webhook_secret_env: {SECRET_ENV}\n"
    assert text.count(secret) == 1
    return text.replace(secret, secret + "  subscribers:\n    private_webhooks: true\n")


async def apply_text(ctx: Context, text: str) -> None:
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, text, clock=ctx.clock, source=Path(SEED_004).name)


@asynccontextmanager
async def live_app(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    """The app over HTTP as an admin; the page's version is asked on every request."""
    settings = ctx.settings.model_copy(update={"statuspage_recheck_seconds": 0.0})
    app = app_for(settings, clock=ctx.clock, database=ctx.db)
    await add_user(ctx, "sp-live-admin@example.com", admin=True)
    token = await token_for(ctx, "sp-live-admin@example.com")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def deliver(ctx: Context) -> None:
    """Run every job due within the next minute (deliveries go out now)."""
    clock = ctx.clock
    assert isinstance(clock, VirtualClock)
    await run_until(ctx.db, clock, clock.now() + timedelta(seconds=30))


async def api(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    answer = await http.request(method, f"/api/v1/statuspage/{path}", json=body)
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Any, Receiver]]:
    """A real SMTP server (its port and inbox) and a real webhook receiver; the job
    handlers loaded and the webhook subscribers' secret set."""
    load_handlers()
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with smtp_server() as (port, inbox), http_receiver(200) as hook:
        yield port, inbox, hook
