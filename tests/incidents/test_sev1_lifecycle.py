"""A Sev1 incident under seed 004's policy, walked through its whole life on a virtual clock.

Seed 004: Detection→Acknowledgment 5 min, Acknowledgment→Mitigation 30 min,
Mitigation→Resolution 4 h; incident commander within 10 min, communication coordinator
within 30 min of declaration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import START

from tocsin.auth import service as auth
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


async def actor(ctx: Context, email: str):  # type: ignore[no-untyped-def]
    async with ctx.db.read() as session:
        return auth.actor_for(await auth.get_user(session, email))


async def test_sev1_walk_through_whole_life(seeded: Context) -> None:
    ctx, clock = seeded, seeded.clock
    oncall = await actor(ctx, "oncall.primary@example.com")
    lead = await actor(ctx, "tech.lead@example.com")
    ref = ""

    async def step(minutes: float, action):  # type: ignore[no-untyped-def]
        clock.set(at(minutes))
        async with ctx.db.write() as session:
            await action(session)

    async def declare(session):  # type: ignore[no-untyped-def]
        nonlocal ref
        data = DeclareIn(
            title="Score recording failures",
            severity="SEV1",
            type="outage",
            components=["score-recording"],
            summary="Students cannot save scores",
            detected_at=at(-2),
            impact={"users_affected": 1200, "users_affected_pct": 35.0},
        )
        ref = (await incidents.declare(session, oncall, data, clock=clock)).ref

    await step(0, declare)
    assert ref == "INC-2026-01-15-001"
    await step(6, lambda s: incidents.acknowledge(s, oncall, ref, clock=clock))
    await step(
        8,
        lambda s: incidents.assign_role(
            s, lead, ref, "incident-commander", lead.email, clock=clock
        ),
    )
    await step(
        20,
        lambda s: incidents.set_status(s, lead, ref, "identified", clock=clock, note="bad deploy"),
    )
    await step(
        25, lambda s: incidents.add_note(s, lead, ref, "Rolling back release 4.2", clock=clock)
    )
    await step(
        35,
        lambda s: incidents.assign_role(
            s, lead, ref, "communications-coordinator", "comms@example.com", clock=clock
        ),
    )
    await step(36, lambda s: incidents.set_status(s, lead, ref, "monitoring", clock=clock))
    await step(36 + 250, lambda s: incidents.set_status(s, lead, ref, "resolved", clock=clock))
    await step(300, lambda s: incidents.set_status(s, lead, ref, "closed", clock=clock))

    async with ctx.db.read() as session:
        incident = await incidents.get(session, lead, ref)
        out = await incidents.describe(session, incident, clock=clock, detail=True)
        events = [e for e in await incidents.timeline(session, lead, ref) if e.actor != "engine"]

    # Every stage timestamp.
    assert out.detected_at == at(-2)
    assert out.declared_at == at(0)
    assert out.acknowledged_at == at(6)
    assert out.acknowledged_by == "oncall.primary@example.com"
    assert out.identified_at == at(20)
    assert out.mitigated_at == at(36)
    assert out.resolved_at == at(286)
    assert out.closed_at == at(300)
    assert out.status == "closed"
    assert out.policy_version == 1

    # Every SLA verdict, with its margin.
    sla = {t.target: t for t in out.sla}
    assert set(sla) == {
        "acknowledge",
        "mitigate",
        "resolve",
        "role:incident-commander",
        "role:communications-coordinator",
    }
    ack = sla["acknowledge"]  # due detected + 5m = 09:03; reached 09:06
    assert (ack.due_at, ack.verdict, ack.margin_seconds, ack.text) == (
        at(3),
        "breached",
        180,
        "breached by 3m",
    )
    mitigate = sla["mitigate"]  # due acknowledged + 30m = 09:36; reached 09:36
    assert (mitigate.due_at, mitigate.verdict, mitigate.margin_seconds) == (at(36), "met", 0)
    resolve = sla["resolve"]  # due mitigated + 4h = 13:36; reached 13:46
    assert (resolve.due_at, resolve.verdict, resolve.text) == (
        at(276),
        "breached",
        "breached by 10m",
    )
    commander = sla["role:incident-commander"]  # due declared + 10m; assigned at 8m
    assert (commander.due_at, commander.verdict, commander.text) == (
        at(10),
        "met",
        "met with 2m to spare",
    )
    comms = sla["role:communications-coordinator"]  # due declared + 30m; assigned at 35m
    assert (comms.verdict, comms.margin_seconds) == ("breached", 300)

    # Roles, with history.
    assert [(r.role, r.email) for r in out.roles] == [
        ("incident-commander", "tech.lead@example.com"),
        ("communications-coordinator", "comms@example.com"),
    ]

    # The full timeline, in order (the escalation engine's own events are left out).
    assert [(e.at, e.actor, e.kind) for e in events] == [
        (at(0), "oncall.primary@example.com", "declared"),
        (at(0), "oncall.primary@example.com", "checklists"),
        (at(6), "oncall.primary@example.com", "acknowledged"),
        (at(8), "tech.lead@example.com", "role_assigned"),
        (at(20), "tech.lead@example.com", "status"),
        (at(25), "tech.lead@example.com", "note"),
        (at(35), "tech.lead@example.com", "role_assigned"),
        (at(36), "tech.lead@example.com", "status"),
        (at(286), "tech.lead@example.com", "status"),
        # Resolving a Severity 1 creates its postmortem (docs/postmortems.md).
        (at(286), "tech.lead@example.com", "postmortem"),
        (at(300), "tech.lead@example.com", "status"),
    ]
    summaries = [e.summary for e in events]
    assert (
        summaries[0]
        == "Declared INC-2026-01-15-001 (SEV1 Severity 1: Critical): Score recording failures"
    )
    assert summaries[2] == "Acknowledged by Primary On-Call (placeholder)"
    assert summaries[4] == "Status investigating → identified: bad deploy"
    assert summaries[5] == "Rolling back release 4.2"
    assert summaries[7:] == [
        "Status identified → monitoring",
        "Status monitoring → resolved",
        "Postmortem created from the template 'Post-Mortem'",
        "Status resolved → closed",
    ]
    assert events[4].data == {
        "before": {"status": "investigating"},
        "after": {"status": "identified", "note": "bad deploy"},
    }

    # Checklists for a Sev1 outage came from the policy.
    assert out.checklists and {"sev1-required-actions", "assessment"} <= {
        c.checklist for c in out.checklists
    }


async def test_severity_change_recomputes_only_unreached_targets(seeded: Context) -> None:
    ctx, clock = seeded, seeded.clock
    lead = await actor(ctx, "tech.lead@example.com")
    async with ctx.db.write() as session:
        incident = await incidents.declare(
            session, lead, DeclareIn(title="Slow API", severity="SEV2"), clock=clock
        )
        ref = incident.ref
    clock.advance(minutes=10)  # SEV2 acknowledge target is 15m: met at 10m
    async with ctx.db.write() as session:
        await incidents.acknowledge(session, lead, ref, clock=clock)
    clock.advance(minutes=5)
    async with ctx.db.write() as session:
        await incidents.change_severity(
            session, lead, ref, "SEV1", reason="all users hit", clock=clock
        )
    async with ctx.db.read() as session:
        incident = await incidents.get(session, lead, ref)
        out = await incidents.describe(session, incident, clock=clock)
        events = [e for e in await incidents.timeline(session, lead, ref) if e.actor != "engine"]
    sla = {t.target: t for t in out.sla}
    # Reached under SEV2 (15m): stays met, even though SEV1 would have wanted 5m.
    assert (sla["acknowledge"].due_at, sla["acknowledge"].verdict) == (at(15), "met")
    # Unreached: recomputed with SEV1's 30m from acknowledgement (was SEV2's 2h).
    assert sla["mitigate"].due_at == at(10) + timedelta(minutes=30)
    # SEV1 requires an incident commander within 10 min of declaration: already breached.
    assert (
        sla["role:incident-commander"].verdict,
        sla["role:incident-commander"].margin_seconds,
    ) == ("breached", 300)
    assert events[-2].kind == "severity" or events[-1].kind == "severity"
    severity_event = next(e for e in events if e.kind == "severity")
    assert severity_event.summary == "Escalated SEV2 → SEV1: all users hit"
    assert severity_event.data["before"] == {"severity": "SEV2"}


async def test_reopen_clears_resolution_and_recomputes(seeded: Context) -> None:
    ctx, clock = seeded, seeded.clock
    lead = await actor(ctx, "tech.lead@example.com")
    async with ctx.db.write() as session:
        ref = (
            await incidents.declare(
                session, lead, DeclareIn(title="x", severity="SEV1"), clock=clock
            )
        ).ref
        clock.advance(minutes=1)
        await incidents.set_status(session, lead, ref, "resolved", clock=clock)
    async with ctx.db.read() as session:
        resolved = await incidents.get(session, lead, ref)
        # Resolving implies acknowledgement, identification and mitigation.
        assert resolved.acknowledged_at == resolved.identified_at == resolved.mitigated_at == at(1)
    clock.advance(minutes=30)
    async with ctx.db.write() as session:
        await incidents.set_status(session, lead, ref, "investigating", clock=clock)
    async with ctx.db.read() as session:
        incident = await incidents.get(session, lead, ref)
        out = await incidents.describe(session, incident, clock=clock)
        events = [e for e in await incidents.timeline(session, lead, ref) if e.actor != "engine"]
    assert out.status == "investigating"
    assert out.resolved_at is None and out.mitigated_at is None
    sla = {t.target: t for t in out.sla}
    assert sla["mitigate"].due_at == at(1) + timedelta(minutes=30)
    assert sla["mitigate"].verdict == "pending"
    assert events[-1].kind == "reopened"
    assert datetime.now(UTC) > START  # the virtual clock never leaked into wall time


async def test_sla_clock_stops_when_resolved(seeded: Context) -> None:
    ctx, clock = seeded, seeded.clock
    lead = await actor(ctx, "tech.lead@example.com")
    async with ctx.db.write() as session:
        ref = (
            await incidents.declare(
                session, lead, DeclareIn(title="x", severity="SEV1"), clock=clock
            )
        ).ref
    clock.advance(minutes=20)  # nobody became incident commander (due at 10 min)
    async with ctx.db.write() as session:
        await incidents.set_status(session, lead, ref, "resolved", clock=clock)
    clock.advance(days=3)
    async with ctx.db.read() as session:
        out = await incidents.describe(
            session, await incidents.get(session, lead, ref), clock=clock
        )
    sla = {t.target: t for t in out.sla}
    # Breached, by the 10 minutes that had passed at resolution, not by three days.
    assert (sla["role:incident-commander"].verdict, sla["role:incident-commander"].text) == (
        "breached",
        "breached by 10m",
    )
    # Resolving straight away reached every stage at once; each got a real due time.
    assert sla["resolve"].due_at == at(20) + timedelta(hours=4)
    assert sla["resolve"].verdict == "met"


async def test_sla_verdicts_for_any_instant(client, seeded: Context) -> None:  # type: ignore[no-untyped-def]
    declared = await client.post("/api/v1/incidents", json={"title": "x", "severity": "SEV1"})
    ref = declared.json()["id"]
    seeded.clock.advance(minutes=2)

    async def ack_verdict(at: datetime | None) -> tuple[str, str]:
        params = {"at": at.isoformat()} if at else {}
        target = next(
            t
            for t in (await client.get(f"/api/v1/incidents/{ref}", params=params)).json()["sla"]
            if t["target"] == "acknowledge"
        )
        return target["verdict"], target["text"]

    assert await ack_verdict(None) == ("pending", "due in 3m")
    assert await ack_verdict(at(1)) == ("pending", "due in 4m")
    assert await ack_verdict(at(12)) == ("breached", "breached by 7m")
    naive = await client.get(f"/api/v1/incidents/{ref}", params={"at": "2026-01-15T09:12:00"})
    assert naive.status_code == 422
