"""Acceptance: seed 000's communication, as its example policy routes it.

A P0 declared under the policy of Arabisch Online Leren produces, in Dutch, the Slack
incident-declared message; at 15 minutes of downtime the status page step; at one hour
the customer e-mail. The real engine runs over virtual time with the real delivery jobs:
Slack's official client (``slack_sdk``) posts to a local receiver speaking the Slack Web
API, and the e-mail arrives at a real SMTP server (aiosmtpd). Each message is checked for
its content and its time, and the timeline lists each rule that fired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.notify.servers import Answering, Received, json_receiver, smtp_server

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.jobs.registry import load_handlers
from tocsin.policy import service as policies
from tocsin.simulate.runner import run_until

SEED_000 = (
    Path(__file__).resolve().parents[2]
    / "examples"
    / "policies"
    / "seed-000-arabisch-online-leren.yaml"
)
CUSTOMERS = "alle-gebruikers@lists.arabischonlineleren.nl"
TOKEN = "xoxb-seed-000-test-token"
TITLE = "Lessen laden niet"


def local_policy(slack_base: str, smtp_port: int) -> str:
    """Seed 000's policy with its Slack API and SMTP server pointed at local receivers."""
    text = SEED_000.read_text(encoding="utf-8")
    swaps = {
        '    channel: "#incidents"\n': (
            f'    channel: "#incidents"\n    base_url: "{slack_base}/api/"\n'
        ),
        "    host: smtp.arabischonlineleren.nl\n": "    host: 127.0.0.1\n",
        "    port: 587\n    tls: starttls\n": f"    port: {smtp_port}\n    tls: none\n",
        "    username: incidents@arabischonlineleren.nl\n    password_env: SMTP_PASSWORD\n": "",
    }
    for old, new in swaps.items():
        assert text.count(old) == 1, f"seed 000's policy changed: {old!r}"
        text = text.replace(old, new)
    return text


def posted(request: Received, index: int) -> dict[str, Any]:
    return {"ok": True, "channel": "C0INCIDENTS", "ts": f"1769000000.00010{index}"}


@pytest.fixture
def receivers() -> Iterator[tuple[Answering, int, Any]]:
    with json_receiver((200, None), reply=posted) as slack, smtp_server() as (port, inbox):
        yield slack, port, inbox


def slack_texts(slack: Answering) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in slack.requests if r.path == "/api/chat.postMessage"]


def to_customers(inbox: Any) -> list[EmailMessage]:
    return [
        mail
        for mail, (_, recipients) in zip(inbox.messages, inbox.envelopes, strict=True)
        if recipients == [CUSTOMERS]
    ]


def plain(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


async def test_seed_000_p0_slack_then_status_page_then_customer_email(
    ctx: Context, receivers: tuple[Answering, int, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack, smtp_port, inbox = receivers
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    load_handlers()
    clock = ctx.clock
    assert isinstance(clock, VirtualClock)
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, local_policy(slack.base, smtp_port), clock=clock, source="seed-000"
        )
    start = clock.now()
    async with ctx.db.write() as session:
        data = schemas.DeclareIn(
            title=TITLE, severity="P0", components=["lessen"], type="database-issue"
        )
        ref = (await incidents.declare(session, SYSTEM, data, clock=clock)).ref

    # Declared: the Slack incident-declared message, in Dutch, and nothing else yet.
    await run_until(ctx.db, clock, start + timedelta(minutes=15) - timedelta(seconds=1))
    [declared] = slack_texts(slack)
    assert slack.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert declared["channel"] == "#incidents" and "thread_ts" not in declared
    text = declared["text"]
    assert text.startswith("*🚨 [P0] INCIDENT DECLARED*\n")  # Slack: the subject in bold
    assert f"**Issue:** {TITLE}\n" in text
    assert "**Detected:** 2026-01-15 10:00 CET\n" in text
    assert "**Current Status:** INVESTIGATING\n" in text
    assert f"/incidents/{ref}" in text  # the link to the incident in Tocsin
    assert "Updates volgen in deze thread elke 15 min. ⏳" in text  # P0's update cadence
    assert to_customers(inbox) == []

    # 15 minutes of downtime: the status page step, in the incident's Slack thread.
    await run_until(ctx.db, clock, start + timedelta(minutes=15))
    assert len(slack_texts(slack)) == 2
    status = slack_texts(slack)[1]
    assert status["thread_ts"] == "1769000000.000100"  # a reply to the declared message
    text = status["text"]
    assert text.startswith("*Investigating - Lessen (content_library)*\n")
    assert f"We are currently investigating {TITLE}." in text
    assert "**Affected Services:** Lessen (content_library)" in text
    assert "For urgent assistance, contact support@arabischonlineleren.nl" in text
    await run_until(ctx.db, clock, start + timedelta(hours=1) - timedelta(seconds=1))
    assert to_customers(inbox) == []  # not before the hour

    # One hour: the customer e-mail reaches the SMTP server, in Dutch.
    await run_until(ctx.db, clock, start + timedelta(hours=1, minutes=1))
    [mail] = to_customers(inbox)
    assert mail["From"] == "Arabisch Online Leren <support@arabischonlineleren.nl>"
    assert mail["X-Tocsin-Incident"] == ref
    assert mail["Subject"] == "Service Update - 2026-01-15 - In behandeling"
    text = plain(mail)
    assert text.startswith("Beste klant,\n")
    assert "We willen je informeren over een storing die ons platform heeft getroffen." in text
    assert f"**Wat is er gebeurd:**\n{TITLE}\n" in text
    assert "Sinds 2026-01-15 10:00 CET; we werken nog aan een oplossing." in text
    assert "Met vriendelijke groet," in text
    assert text.rstrip().endswith(
        "Je ontvangt deze email omdat je een account hebt bij Arabisch Online Leren."
    )
    assert len(slack_texts(slack)) == 2  # nothing more to Slack without updates

    # The timeline lists each rule, at its time.
    async with ctx.db.read() as session:
        events = list(
            await session.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.kind == "comms")
                .order_by(IncidentEvent.at, IncidentEvent.id)
            )
        )
    assert [(e.at - start, e.data["after"]["route"]) for e in events] == [
        (timedelta(0), "slack-incident-start"),
        (timedelta(minutes=15), "statuspagina-15m"),
        (timedelta(hours=1), "klantmail-1h"),
    ]
    assert events[1].summary == (
        "Route statuspagina-15m fired: status-investigating via slack-incidents → #incidents "
        "(15m since detection, not yet mitigated)"
    )
    assert events[2].data["after"]["recipients"] == [CUSTOMERS]


async def test_seed_000_p0_mitigated_in_time_sends_no_status_page_step_or_email(
    ctx: Context, receivers: tuple[Answering, int, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack, smtp_port, inbox = receivers
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    load_handlers()
    clock = ctx.clock
    assert isinstance(clock, VirtualClock)
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, local_policy(slack.base, smtp_port), clock=clock, source="seed-000"
        )
    start = clock.now()
    async with ctx.db.write() as session:
        data = schemas.DeclareIn(title=TITLE, severity="P0")
        ref = (await incidents.declare(session, SYSTEM, data, clock=clock)).ref
    await run_until(ctx.db, clock, start + timedelta(minutes=10))
    async with ctx.db.write() as session:
        await incidents.set_status(session, SYSTEM, ref, "monitoring", clock=clock)
    await run_until(ctx.db, clock, start + timedelta(hours=2))
    assert to_customers(inbox) == []
    async with ctx.db.read() as session:
        routes = list(
            await session.scalars(
                select(IncidentEvent.summary)
                .where(IncidentEvent.kind == "comms")
                .order_by(IncidentEvent.at, IncidentEvent.id)
            )
        )
    # Declared, then acknowledged (implied by the move to monitoring): no status page step.
    assert [r.split(" ")[1] for r in routes] == ["slack-incident-start", "slack-acknowledged"]
    assert len(slack_texts(slack)) == 2
