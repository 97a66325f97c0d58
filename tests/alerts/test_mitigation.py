"""Every alert of an incident resolved at its source: the incident is mitigated and its
commander asked to confirm, or resolved outright when the policy says so."""

from __future__ import annotations

from sqlalchemy import select
from tests.alerts.routed import (
    all_alerts,
    all_incidents,
    apply,
    client,
    event,
    resolve,
    send,
    timeline,
    two_workers_at_once,
    waiting_events,
)

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.notify.models import Notification


async def _commander(ctx: Context, ref: str) -> None:
    async with ctx.db.write() as session:
        await incidents.assign_role(
            session, SYSTEM, ref, "incident-commander", "ida@example.com", clock=ctx.clock
        )


async def test_the_last_alert_resolved_mitigates_and_asks_the_commander(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        await send(ctx, http, event(key, "Web 1 down", "w1"), event(key, "Web 2 down", "w2"))
        [incident] = await all_incidents(ctx)
        await _commander(ctx, incident.ref)
        ctx.clock.advance(minutes=5)
        await send(ctx, http, resolve(key, "w1"))
        assert (await all_incidents(ctx))[0].status == "investigating"
        ctx.clock.advance(minutes=5)
        await send(ctx, http, resolve(key, "w2"))
    [incident] = await all_incidents(ctx)
    assert (incident.status, incident.mitigated_at) == ("monitoring", ctx.clock.now())
    assert incident.resolved_at is None
    [status] = await timeline(ctx, incident, "status")
    assert status.summary == (
        "Status investigating → monitoring: all 2 alert(s) resolved at their sources"
    )
    assert status.actor == "integration:prometheus"
    [asked] = await timeline(ctx, incident, "reminder")
    assert asked.summary.startswith("Reminded role:incident-commander → ida via email: ")
    assert f"Confirm it is resolved: tocsin incident resolve {incident.ref}" in asked.summary
    async with ctx.db.read() as session:
        [notice] = (
            await session.scalars(
                select(Notification).where(Notification.recipient == "ida@example.com")
            )
        ).all()
    assert notice.incident_id == incident.id and notice.payload["data"]["kind"] == "reminder"
    assert "marked mitigated" in notice.body_text


async def test_a_route_or_the_policy_may_resolve_the_incident_instead(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        # Route "db" says resolve_incident_when_alerts_resolve: true.
        await send(ctx, http, event(key, "Orders DB lag", "lag", component="database"))
        await send(ctx, http, resolve(key, "lag"))
    [incident] = await all_incidents(ctx)
    assert (incident.status, incident.resolved_at) == ("resolved", ctx.clock.now())
    assert await timeline(ctx, incident, "reminder") == []


async def test_the_policy_wide_option_resolves(ctx: Context) -> None:
    from tests.alerts.routed import ROUTES_POLICY

    key = await apply(
        ctx,
        ROUTES_POLICY.replace(
            "  routes:", "  resolve_incident_when_alerts_resolve: true\n  routes:"
        ),
    )
    async with client(ctx) as http:
        await send(ctx, http, event(key, "Web down", "w"), resolve(key, "w"))
    assert (await all_incidents(ctx))[0].status == "resolved"


async def test_only_an_incident_before_mitigated_moves(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            event(key, "Web down", "a", group="a"),
            event(key, "Queue down", "b", group="b"),
            event(key, "Cache down", "c", group="c"),
        )
        first, second, third = await all_incidents(ctx)
        async with ctx.db.write() as session:
            await incidents.set_status(session, SYSTEM, first.ref, "identified", clock=ctx.clock)
            await incidents.set_status(session, SYSTEM, second.ref, "monitoring", clock=ctx.clock)
            await incidents.set_status(session, SYSTEM, third.ref, "resolved", clock=ctx.clock)
        await send(ctx, http, resolve(key, "a"), resolve(key, "b"), resolve(key, "c"))
    first, second, third = await all_incidents(ctx)
    assert (first.status, second.status, third.status) == ("monitoring", "monitoring", "resolved")
    # The one already mitigated by people is left alone: no second status change, no notice.
    assert len(await timeline(ctx, second, "status")) == 1
    assert await timeline(ctx, second, "reminder") == []
    assert len(await timeline(ctx, first, "reminder")) == 1


async def test_an_ignored_or_held_alert_resolving_touches_no_incident(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        await send(ctx, http, event(key, "Disk 81%", "d", severity="info"), resolve(key, "d"))
    [alert] = await all_alerts(ctx)
    assert (alert.status, alert.incident_id) == ("resolved", None)
    assert await all_incidents(ctx) == []


async def test_two_last_alerts_resolved_at_once_still_mitigate(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        await send(ctx, http, event(key, "Web 1 down", "w1"), event(key, "Web 2 down", "w2"))
        for dedup_key in ("w1", "w2"):
            answer = await http.post("/v2/enqueue", json=resolve(key, dedup_key))
            assert answer.status_code == 202
    # The first resolution sees the other alert still open: nothing to do yet. The second,
    # resolved meanwhile by another worker, waits for the incident's lock, then sees every
    # alert resolved.
    first, second = await waiting_events(ctx)
    await two_workers_at_once(ctx, first, second)
    [incident] = await all_incidents(ctx)
    assert incident.status == "monitoring"
    assert len(await timeline(ctx, incident, "reminder")) == 1
