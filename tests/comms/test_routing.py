"""Comms routes run by the real engine under a virtual clock, on SQLite and PostgreSQL:
stage routes fire once, a severity change fires what now applies, timed routes fire at
their time and not after resolution, a retried job sends nothing twice, and a template
that cannot be rendered is written on the timeline instead of failing the change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tocsin.auth.actor import SYSTEM
from tocsin.comms import routing
from tocsin.comms.handlers import route_due
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.jobs.models import Job
from tocsin.jobs.registry import load_handlers
from tocsin.notify.models import Notification
from tocsin.policy import service as policies
from tocsin.policy.schema_comms import Route, TemplateSpec
from tocsin.simulate.runner import run_until

# Channels point at a closed port: these tests are about what is queued, not delivered
# (tests/comms/test_seed000_comms.py delivers to real receivers).
POLICY = """
tocsin: 1
organization: {name: Routing test, timezone: Europe/Amsterdam}
severities:
  - {key: P0, name: Critical}
  - {key: P1, name: High}
  - {key: P2, name: Medium}
incident_types:
  - {key: outage, name: Outage}
  - {key: security, name: Security}
roles:
  - key: incident-commander
    name: Incident Commander
    exclusive: true
    permissions: [acknowledge, update-status, change-severity, assign-roles]
  - {key: executive, name: Executive}
people:
  - {key: olly, email: olly@example.com, name: Olly,
     contacts: [{type: sms, value: "+31600000001"}]}
  - {key: eve, email: eve@example.com, name: Eve, roles: [executive],
     contacts: [{type: phone, value: "+31600000002"}]}
  - {key: quinn, email: quinn@example.com, name: Quinn, roles: [executive]}
schedules:
  - key: primary
    name: Primary
    layers: [{participants: [olly]}]
channels:
  - {key: chat, type: slack, token_env: TOCSIN_TEST_ROUTING_TOKEN, channel: "#incidents",
     base_url: "http://127.0.0.1:9/api/"}
  - {key: mail, type: email, host: 127.0.0.1, port: 9, tls: none, from: tocsin@example.com}
  - {key: sms, type: sms, base_url: "http://127.0.0.1:9", account_sid: AC1,
     auth_token_env: TOCSIN_TEST_ROUTING_TOKEN, from: "+15550001111"}
  - {key: statuspage, type: webhook, url: "http://127.0.0.1:9/hook"}
templates:
  - key: declared
    subject: "[{{ incident.severity }}] {{ incident.ref }}"
    text: "Declared: {{ incident.title }} ({{ incident.severity_name }})"
  - {key: progress, text: "Update on {{ incident.title }}: {{ update.progress }}"}
  - {key: downtime, subject: "Still down", text: "Down for {{ incident.duration }}"}
  - key: risky  # renders with every field filled in or empty, but not with 0 users affected
    text: >-
      {{ incident.title }} hits one in
      {{ 1000 // incident.users_affected if incident.users_affected is number else "?" }}
comms:
  routes:
    - {key: declared-chat, on: declared, template: declared, channels: [chat]}
    - key: p0-sms
      on: declared
      severities: [P0]
      template: declared
      channels: [sms]
      to: [schedule:primary, role:executive, "+31611111111"]
    - {key: updates, on: update, template: progress, channels: [chat]}
    - {key: escalated, on: severity_changed, severities: [P0], template: declared,
       channels: [chat]}
    - {key: status-15m, after: 15m, severities: [P0, P1], template: downtime,
       channels: [statuspage]}
    - {key: mail-1h, after: 1h, until: mitigated, severities: [P0], template: downtime,
       channels: [mail], to: [customers@example.com]}
    - {key: resolved-chat, on: resolved, template: declared, channels: [chat]}
    - {key: security-ack, on: acknowledged, types: [security], template: risky,
       channels: [chat]}
"""


@pytest.fixture
async def engine(ctx: Context) -> Context:
    load_handlers()
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, POLICY, clock=ctx.clock, source="routing.yaml")
    return ctx


async def declare(ctx: Context, severity: str = "P0", **extra: Any) -> str:
    async with ctx.db.write() as session:
        data = schemas.DeclareIn(title="Checkout down", severity=severity, **extra)
        return (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref


async def run_for(ctx: Context, delta: timedelta) -> None:
    await run_until(ctx.db, ctx.clock, ctx.clock.now() + delta)  # type: ignore[arg-type]


async def comms(ctx: Context) -> list[tuple[timedelta, str, dict[str, Any]]]:
    """(offset from declaration, summary, data) of each ``comms`` timeline event."""
    async with ctx.db.read() as session:
        rows = list(
            await session.scalars(
                select(IncidentEvent).order_by(IncidentEvent.at, IncidentEvent.id)
            )
        )
    start = next(r.at for r in rows if r.kind == "declared")
    return [(r.at - start, r.summary, r.data["after"]) for r in rows if r.kind == "comms"]


async def fired(ctx: Context) -> list[tuple[int, str]]:
    """(minutes after declaration, route) of each route that fired."""
    return [(int(at.total_seconds() // 60), data["route"]) for at, _, data in await comms(ctx)]


async def outbox(ctx: Context) -> list[Notification]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(Notification).order_by(Notification.id)))


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


async def test_declared_route_fires_once_at_declaration(engine: Context) -> None:
    ref = await declare(engine, "P2")
    async with engine.db.write() as session:
        await incidents.acknowledge(session, SYSTEM, ref, clock=engine.clock)
        await incidents.set_status(session, SYSTEM, ref, "identified", clock=engine.clock)
    await run_for(engine, minutes(30))
    assert await fired(engine) == [(0, "declared-chat")]
    [message] = await outbox(engine)
    assert (message.channel_key, message.recipient) == ("chat", "#incidents")
    assert message.subject == f"[P2] {ref}"
    assert message.body_text == "Declared: Checkout down (Medium)\n"
    async with engine.db.read() as session:
        incident = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert incident is not None
        assert message.idempotency_key == f"route:{incident.id}:declared-chat:chat:#incidents"
    [(_, summary, data)] = await comms(engine)
    assert summary == (
        "Route declared-chat fired: declared via chat → #incidents (incident declared)"
    )
    assert data["recipients"] == ["#incidents"]
    assert data["messages"] == [
        {"channel": "chat", "recipient": "#incidents", "person": None, "notification": message.id}
    ]
    assert data["template"] == "declared" and data["locale"] == "en"


async def test_p0_sms_goes_to_the_on_call_and_the_executives_with_a_phone(
    engine: Context,
) -> None:
    await declare(engine, "P0")
    sms = [(m.recipient, m.person) for m in await outbox(engine) if m.channel_key == "sms"]
    assert sms == [
        ("+31600000001", "olly"),  # schedule:primary, by their SMS contact
        ("+31600000002", "eve"),  # role:executive, by their phone
        ("+31611111111", None),  # an address as written
    ]
    [data] = [d for _, _, d in await comms(engine) if d["route"] == "p0-sms"]
    assert data["problems"] == ["quinn has no sms address"]


async def test_severity_upgrade_fires_what_now_applies(engine: Context) -> None:
    ref = await declare(engine, "P2")
    await run_for(engine, minutes(20))
    async with engine.db.write() as session:
        await incidents.change_severity(session, SYSTEM, ref, "P0", clock=engine.clock)
    await run_for(engine, minutes(1))
    assert await fired(engine) == [
        (0, "declared-chat"),
        (20, "p0-sms"),  # declared-stage route, now that it applies
        (20, "escalated"),  # on: severity_changed
        (20, "status-15m"),  # 15 minutes of downtime have passed already
    ]
    events = await comms(engine)
    late = next(d for _, _, d in events if d["route"] == "p0-sms")
    assert late["reason"].startswith("incident declared at 2026-01-15 10:00 CET")
    assert late["reason"].endswith("the route applies now that it is P0")
    # Back down and up again: stage routes have fired; severity_changed fires each time.
    async with engine.db.write() as session:
        await incidents.change_severity(session, SYSTEM, ref, "P1", clock=engine.clock)
        await incidents.change_severity(session, SYSTEM, ref, "P0", clock=engine.clock)
    await run_for(engine, minutes(60))
    routes = [route for _, route in await fired(engine)]
    assert routes.count("p0-sms") == 1 and routes.count("escalated") == 2
    assert routes.count("status-15m") == 1 and routes.count("mail-1h") == 1


async def test_a_timed_route_fires_at_its_time_and_not_earlier(engine: Context) -> None:
    await declare(engine, "P1")
    await run_for(engine, minutes(15) - timedelta(seconds=1))
    assert await fired(engine) == [(0, "declared-chat")]
    await run_for(engine, timedelta(seconds=1))
    assert await fired(engine) == [(0, "declared-chat"), (15, "status-15m")]
    await run_for(engine, minutes(120))
    assert await fired(engine) == [(0, "declared-chat"), (15, "status-15m")]  # P1: no mail
    [(_, summary, data)] = [e for e in await comms(engine) if e[2]["route"] == "status-15m"]
    assert data["reason"] == "15m since detection, not yet resolved"
    assert summary.startswith("Route status-15m fired: downtime via statuspage → statuspage")
    hook = [m for m in await outbox(engine) if m.channel_key == "statuspage"]
    assert [m.body_text for m in hook] == ["Down for 15 min\n"]


async def test_timed_routes_count_from_detection(engine: Context) -> None:
    detected = engine.clock.now() - minutes(10)
    await declare(engine, "P1", detected_at=detected)
    await run_for(engine, minutes(5))
    assert await fired(engine) == [(0, "declared-chat"), (5, "status-15m")]


async def test_no_timed_route_after_resolution(engine: Context) -> None:
    ref = await declare(engine, "P0")
    await run_for(engine, minutes(10))
    async with engine.db.write() as session:
        await incidents.set_status(session, SYSTEM, ref, "resolved", clock=engine.clock)
    await run_for(engine, minutes(180))
    assert await fired(engine) == [(0, "declared-chat"), (0, "p0-sms"), (10, "resolved-chat")]
    async with engine.db.read() as session:
        timers = list(await session.scalars(select(Job).where(Job.kind == routing.ROUTE_JOB)))
    assert sorted(job.status for job in timers) == ["cancelled", "cancelled"]


async def test_until_mitigated_stops_the_customer_mail(engine: Context) -> None:
    ref = await declare(engine, "P0")
    await run_for(engine, minutes(30))
    async with engine.db.write() as session:
        await incidents.set_status(session, SYSTEM, ref, "monitoring", clock=engine.clock)
    await run_for(engine, minutes(120))
    assert await fired(engine) == [(0, "declared-chat"), (0, "p0-sms"), (15, "status-15m")]


async def test_the_mail_goes_out_at_one_hour_to_its_address(engine: Context) -> None:
    await declare(engine, "P0")
    await run_for(engine, minutes(61))
    assert (60, "mail-1h") in await fired(engine)
    [mail] = [m for m in await outbox(engine) if m.channel_key == "mail"]
    assert (mail.recipient, mail.subject, mail.body_text) == (
        "customers@example.com",
        "Still down",
        "Down for 1 h\n",
    )


async def test_each_update_is_routed_with_its_text(engine: Context) -> None:
    ref = await declare(engine, "P2")
    async with engine.db.write() as session:
        await incidents.post_update(session, SYSTEM, ref, "Rolled back", clock=engine.clock)
    await run_for(engine, minutes(5))
    async with engine.db.write() as session:
        await incidents.post_update(session, SYSTEM, ref, "Watching", clock=engine.clock)
    texts = [m.body_text for m in await outbox(engine) if m.channel_key == "chat"]
    assert texts == [
        "Declared: Checkout down (Medium)\n",
        "Update on Checkout down: Rolled back\n",
        "Update on Checkout down: Watching\n",
    ]
    keys = [m.idempotency_key for m in await outbox(engine)]
    assert len(set(keys)) == 3


async def test_a_retried_job_sends_nothing_twice(engine: Context) -> None:
    ref = await declare(engine, "P1")
    await run_for(engine, minutes(16))
    before = [(m.id, m.idempotency_key) for m in await outbox(engine)]
    async with engine.db.write() as session:
        job = await session.scalar(select(Job).where(Job.kind == routing.ROUTE_JOB))
        assert job is not None and job.status == "done"
        await route_due(session, job, engine.clock)  # the same job, run again
    async with engine.db.write() as session:
        incident = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert incident is not None
        policy = await incidents.incident_policy(session, incident)
        route = next(r for r in policy.comms.routes if r.key == "status-15m")
        # Even a second firing (past the done-once mark) queues the same messages.
        await routing.fire(session, policy, incident, route, clock=engine.clock, reason="again")
    await run_for(engine, minutes(5))
    assert [(m.id, m.idempotency_key) for m in await outbox(engine)] == before
    assert [r for _, r in await fired(engine)].count("status-15m") == 2  # the forced one


async def test_a_template_that_cannot_be_rendered_is_on_the_timeline(engine: Context) -> None:
    ref = await declare(engine, "P1", type="security", impact={"users_affected": 0})
    async with engine.db.write() as session:  # 1000 // 0
        await incidents.acknowledge(session, SYSTEM, ref, clock=engine.clock)
    async with engine.db.read() as session:
        incident = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert incident is not None and incident.acknowledged_at is not None
    [(_, summary, data)] = [e for e in await comms(engine) if e[2]["route"] == "security-ack"]
    assert summary.startswith("Route security-ack not sent: template 'risky'")
    assert "cannot be rendered" in summary
    assert data["recipients"] == []
    assert not [m for m in await outbox(engine) if m.body_text.startswith("Checkout down hits")]


async def test_a_missing_template_or_channel_is_written_down_not_raised(engine: Context) -> None:
    ref = await declare(engine, "P2")
    async with engine.db.write() as session:
        incident = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert incident is not None
        policy = await incidents.incident_policy(session, incident)
        gone = Route.model_validate(
            {"key": "gone", "on": "update", "template": "declared", "channels": ["pager", "chat"]}
        )
        nameless = Route.model_validate(
            {"key": "nameless", "on": "update", "template": "nope", "channels": ["chat"]}
        )
        broken = policy.model_copy(
            update={
                "templates": [
                    *policy.templates,
                    TemplateSpec(key="unclosed", text="{{ incident.title"),
                ]
            }
        )
        unclosed = Route.model_validate(
            {"key": "unclosed", "on": "update", "template": "unclosed", "channels": ["chat"]}
        )
        for policy_used, route in ((policy, gone), (policy, nameless), (broken, unclosed)):
            await routing.fire(
                session, policy_used, incident, route, clock=engine.clock, reason="t"
            )
    events = {d["route"]: (s, d) for _, s, d in await comms(engine)}
    summary, data = events["gone"]
    assert data["problems"] == ["channel 'pager' is not in the policy's channels"]
    assert summary.startswith("Route gone fired: declared via chat → #incidents")
    summary, data = events["nameless"]
    assert summary.startswith("Route nameless not sent: no template 'nope'")
    summary, data = events["unclosed"]
    assert summary.startswith("Route unclosed not sent: template 'unclosed'")
    assert "cannot be rendered" in summary


async def test_fire_event_knows_its_events(engine: Context) -> None:
    ref = await declare(engine, "P2")
    async with engine.db.write() as session:
        incident = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert incident is not None
        policy = await incidents.incident_policy(session, incident)
        count = await routing.fire_event(
            session, policy, incident, "mitigation_proposed", clock=engine.clock
        )
        assert count == 0  # accepted, and no route answers it here
        with pytest.raises(Exception, match="not a repeating comms event"):
            await routing.fire_event(session, policy, incident, "declared", clock=engine.clock)
