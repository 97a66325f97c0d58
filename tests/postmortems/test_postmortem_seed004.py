"""A Sev1 under seed 004's policy: resolving it creates the postmortem from the seed's
template with the incident's timeline, and the meeting deadline (48 h after resolution)
is reminded at 24 h and escalated when it passes, on a virtual clock with the real engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from tests.conftest import START
from tests.escalation.harness import run_for

from tocsin.auth import service as auth
from tocsin.auth.actor import Actor
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.incidents.schemas import DeclareIn
from tocsin.jobs.registry import load_handlers
from tocsin.notify.models import Notification
from tocsin.postmortems import service as postmortems


async def _actor(ctx: Context, email: str) -> Actor:
    async with ctx.db.read() as session:
        return auth.actor_for(await auth.get_user(session, email))


async def _sev1_resolved(ctx: Context) -> tuple[str, datetime]:
    """Declared at START, commander at +8 min, resolved at +2 h; returns ref and resolved_at."""
    clock = ctx.clock
    oncall = await _actor(ctx, "oncall.primary@example.com")
    lead = await _actor(ctx, "tech.lead@example.com")
    async with ctx.db.write() as session:
        data = DeclareIn(
            title="Score recording failures",
            severity="SEV1",
            summary="Students cannot save scores",
            components=["score-recording"],
            impact={"users_affected": 1200, "users_affected_pct": 35.0},
        )
        ref = (await incidents.declare(session, oncall, data, clock=clock)).ref
    clock.set(START + timedelta(minutes=8))  # type: ignore[attr-defined]
    async with ctx.db.write() as session:
        await incidents.assign_role(
            session, lead, ref, "incident-commander", lead.email, clock=clock
        )
        await incidents.add_note(session, lead, ref, "Rolled back to v2.5.2", clock=clock)
    clock.set(START + timedelta(hours=2))  # type: ignore[attr-defined]
    async with ctx.db.write() as session:
        await incidents.set_status(session, lead, ref, "resolved", clock=clock)
    return ref, START + timedelta(hours=2)


async def test_resolving_a_sev1_creates_the_seed_postmortem_with_its_timeline(
    seeded: Context,
) -> None:
    ref, resolved = await _sev1_resolved(seeded)
    async with seeded.db.read() as session:
        incident, postmortem = await postmortems.get(
            session, await _actor(seeded, "cto@example.com"), ref
        )
        out = await postmortems.describe(session, incident, postmortem, clock=seeded.clock)
        events = await incidents.timeline(session, await _actor(seeded, "cto@example.com"), ref)
    assert out.template == "post-mortem"
    assert out.status == "draft"
    assert out.title == "Post-Mortem: Score recording failures"
    assert out.due_at == resolved + timedelta(hours=48)
    headings = [s.heading for s in out.sections]
    assert headings[:4] == [
        "Executive Summary",
        "Incident Overview",
        "Timeline",
        "Root Cause Analysis",
    ]
    body = {s.key: s.body for s in out.sections}
    assert body["executive-summary"] == "Students cannot save scores"
    assert "- **Duration**: 09:00 - 11:00 UTC (2h)" in body["incident-overview"]
    assert "- **Severity**: SEV1 (Severity 1: Critical)" in body["incident-overview"]
    assert "- **Affected Users**: 1,200 (35%)" in body["incident-overview"]
    # Every event up to the resolution, in order, with its time and actor.
    timeline = body["timeline"].splitlines()
    before = [e for e in events if e.at <= resolved and e.kind != "postmortem"]
    assert len(timeline) == len(before)
    for line, event in zip(timeline, before, strict=True):
        assert line == f"- `{event.at:%H:%M}` - {event.summary} ({event.actor})"
    assert any("Rolled back to v2.5.2" in line for line in timeline)
    assert "1. **Why** did [symptom] occur?" in body["five-whys"]
    assert [d.key for d in out.deadlines] == ["postmortem"]
    assert out.deadlines[0].met is False


async def _reminders(ctx: Context) -> list[tuple[datetime, str, str]]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.kind.in_(["reminder", "escalate"]))
            .order_by(IncidentEvent.at, IncidentEvent.id)
        )
        return [
            (e.at, e.kind, e.summary)
            for e in rows
            if "Postmortem meeting" in e.summary or "action item" in e.summary
        ]


async def test_meeting_deadline_is_reminded_at_24h_and_overdue_at_48h(seeded: Context) -> None:
    load_handlers()
    ref, resolved = await _sev1_resolved(seeded)
    await run_for(seeded, timedelta(hours=23, minutes=59))
    assert await _reminders(seeded) == []
    await run_for(seeded, timedelta(hours=30))
    fired = await _reminders(seeded)
    assert [(at - resolved, kind) for at, kind, _ in fired] == [
        (timedelta(hours=24), "reminder"),
        (timedelta(hours=48), "reminder"),
    ]
    assert "role:incident-commander → tech.lead" in fired[0][2]
    assert "Postmortem meeting due" in fired[0][2] and "(1d left)" in fired[0][2]
    assert "Postmortem meeting overdue" in fired[1][2]
    async with seeded.db.read() as session:
        sent = list(
            await session.scalars(select(Notification).where(Notification.incident_id.is_not(None)))
        )
        incident = await incidents.get(session, await _actor(seeded, "cto@example.com"), ref)
        states = await postmortems.deadline_states(session, incident, now=seeded.clock.now())
    told = [n for n in sent if "Postmortem meeting" in n.payload["data"].get("reason", "")]
    assert {n.payload["data"]["person"] for n in told} == {"tech.lead"}
    assert states[0].overdue is True


async def test_a_planned_meeting_meets_the_deadline_and_nothing_fires(seeded: Context) -> None:
    load_handlers()
    ref, resolved = await _sev1_resolved(seeded)
    lead = await _actor(seeded, "tech.lead@example.com")
    async with seeded.db.write() as session:
        await postmortems.set_meeting(
            session, lead, ref, resolved + timedelta(hours=20), clock=seeded.clock
        )
    await run_for(seeded, timedelta(hours=72))
    assert await _reminders(seeded) == []
