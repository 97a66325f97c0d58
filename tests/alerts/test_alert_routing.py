"""Routes and grouping through the real app and jobs: which incident an alert opens or
joins, and two workers routing related alerts at once opening one incident."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
import pytest
from tests.alerts.conftest import drain, token
from tests.alerts.routed import (
    ROUTES_POLICY,
    all_alerts,
    all_incidents,
    apply,
    client,
    event,
    send,
    timeline,
    two_workers_at_once,
    waiting_events,
)

from tocsin.app import create_app
from tocsin.context import Context
from tocsin.db import Database
from tocsin.errors import PolicyInvalid
from tocsin.escalation.models import Escalation
from tocsin.incidents.models import Incident
from tocsin.jobs.registry import load_handlers
from tocsin.jobs.worker import Worker


async def test_routes_decide_what_an_alert_becomes(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            event(key, "Checkout 5xx above 50%", "5xx", **{"class": "http-5xx"}),
            event(key, "Disk usage 81%", "disk", severity="info"),
            event(key, "Orders DB replica lag", "lag", component="database"),
            event(key, "Something odd", "odd", severity="warning", group="misc"),
        )
    five_xx, disk, lag, odd = await all_alerts(ctx)
    incidents = {i.id: i for i in await all_incidents(ctx)}
    assert len(incidents) == 3
    outage = incidents[five_xx.incident_id or 0]
    assert (outage.severity, outage.type, outage.components) == ("SEV1", "outage", ["payments"])
    assert outage.restricted is False and outage.title == "Checkout 5xx above 50%"
    assert (five_xx.route, five_xx.routing, five_xx.service, five_xx.team) == (
        "checkout-down",
        "opened",
        "checkout",
        "payments",
    )
    # Ignored: kept, de-duplicated like any alert, but no incident.
    assert (disk.route, disk.routing, disk.incident_id) == ("noise", "ignored", None)
    # The route names the service: "db", not the integration's "checkout".
    assert incidents[lag.incident_id or 0].severity == "SEV2" and lag.service == "db"
    # No route matches: the default route, the policy's default severity.
    assert (odd.route, incidents[odd.incident_id or 0].severity) == ("default", "SEV4")
    summary = incidents[odd.incident_id or 0].summary
    assert summary.endswith("dedup key odd; route default.")


async def test_a_storm_of_related_alerts_is_one_incident(ctx: Context) -> None:
    key = await apply(ctx)
    storm = [
        event(key, f"Checkout 5xx on web-{n:02}", f"5xx-{n}", **{"class": "http-5xx"})
        for n in range(12)
    ]
    async with client(ctx, await token(ctx, "admin@example.com", admin=True)) as http:
        await send(ctx, http, *storm)
        [incident] = await all_incidents(ctx)
        found = await all_alerts(ctx)
        assert len(found) == 12 and {a.incident_id for a in found} == {incident.id}
        assert [a.routing for a in found] == ["opened"] + ["grouped"] * 11
        shown = (await http.get(f"/api/v1/incidents/{incident.ref}")).json()
        assert shown["alert_count"] == 12
        listed = (await http.get("/api/v1/incidents")).json()
        assert [i["alert_count"] for i in listed["incidents"]] == [12]
        # A repeat of an alert de-duplicates: the count stays 12 alerts.
        await send(ctx, http, storm[0])
        assert (await http.get(f"/api/v1/incidents/{incident.ref}")).json()["alert_count"] == 12
        # The window slides with the group's latest alert (30 minutes by default) ...
        ctx.clock.advance(minutes=25)
        await send(ctx, http, event(key, "Checkout 5xx again", "5xx-late", **{"class": "http-5xx"}))
        assert len(await all_incidents(ctx)) == 1
        # ... and past it, a related alert opens a new incident.
        ctx.clock.advance(minutes=31)
        await send(
            ctx, http, event(key, "Checkout 5xx once more", "5xx-new", **{"class": "http-5xx"})
        )
    first, second = await all_incidents(ctx)
    assert first.id == incident.id and second.title == "Checkout 5xx once more"


async def test_groups_are_per_service_and_group_by_fields(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            # Default grouping: the service and the alert's group.
            event(key, "Web node 1 down", "w1", group="web"),
            event(key, "Web node 2 down", "w2", group="web"),
            event(key, "Worker 1 down", "q1", group="queue"),
            # Route "slow" groups by class, within 10 minutes.
            event(key, "Slow search", "s1", **{"class": "search"}),
            event(key, "Slow search again", "s2", **{"class": "search"}),
            event(key, "Slow login", "s3", **{"class": "login"}),
        )
        ctx.clock.advance(minutes=11)
        await send(ctx, http, event(key, "Slow search later", "s4", **{"class": "search"}))
    w1, w2, q1, s1, s2, s3, s4 = await all_alerts(ctx)
    assert w1.incident_id == w2.incident_id != q1.incident_id
    assert s1.incident_id == s2.incident_id
    assert len({s1.incident_id, s3.incident_id, s4.incident_id, w1.incident_id}) == 4
    assert len(await all_incidents(ctx)) == 5


async def test_an_alert_without_service_or_group_is_not_grouped(ctx: Context) -> None:
    await apply(ctx)
    from tests.alerts.conftest import make_integration

    key = await make_integration(ctx, "Uptime")  # no service
    async with client(ctx) as http:
        await send(ctx, http, event(key, "Site down", "a"), event(key, "Site down", "b"))
    assert len(await all_incidents(ctx)) == 2


async def test_group_window_zero_turns_grouping_off(ctx: Context) -> None:
    key = await apply(ctx, "alerts:\n  group_window: 0m\n")
    async with client(ctx) as http:
        await send(ctx, http, event(key, "Web 1 down", "a"), event(key, "Web 2 down", "b"))
    assert len(await all_incidents(ctx)) == 2


async def test_a_more_severe_alert_escalates_its_group_incident(ctx: Context) -> None:
    key = await apply(
        ctx, "alerts:\n  routes:\n    - {match: {severity: critical}, severity: SEV2}\n"
    )
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            event(key, "Checkout errors rising", "a", severity="warning"),
            event(key, "Checkout errors rising more", "b", severity="warning"),
            event(key, "Checkout failing", "c", severity="critical"),
            event(key, "Checkout errors still", "d", severity="warning"),
        )
    [incident] = await all_incidents(ctx)
    assert incident.severity == "SEV2"
    [change] = await timeline(ctx, incident, "severity")
    assert change.summary.startswith("Escalated SEV4 → SEV2: alert ")
    assert "took route routes[0]" in change.summary
    assert change.actor == "integration:prometheus"


async def test_two_workers_routing_related_alerts_at_once_open_one_incident(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx) as http:
        for n in range(2):
            answer = await http.post("/v2/enqueue", json=event(key, f"Web {n} down", f"w{n}"))
            assert answer.status_code == 202
    first, second = await waiting_events(ctx)
    # The first worker opens the group's incident; until it commits, the second waits (the
    # group's lock; on SQLite the write transaction), then finds the incident and joins.
    assert await two_workers_at_once(ctx, first, second)
    [incident] = await all_incidents(ctx)
    assert [(a.routing, a.incident_id) for a in await all_alerts(ctx)] == [
        ("opened", incident.id),
        ("grouped", incident.id),
    ]
    await drain(ctx)  # the jobs of both events find them processed
    assert len(await all_incidents(ctx)) == 1


async def test_a_storm_through_concurrent_servers_and_workers_is_one_incident(
    ctx: Context,
) -> None:
    key = await apply(ctx)
    load_handlers(ctx.settings)
    storm = 30
    async with AsyncExitStack() as stack:
        engines = [Database(ctx.settings) for _ in range(5)]
        for db in engines:
            stack.push_async_callback(db.dispose)
        clients = []
        for db in engines[:2]:
            app = create_app(ctx.settings, clock=ctx.clock, database=db)
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            stack.push_async_callback(http.aclose)
            clients.append(http)
        workers = [
            Worker(db, ctx.clock, f"worker-{n}", idle_cap=timedelta(seconds=1))
            for n, db in enumerate(engines[2:])
        ]
        tasks = [asyncio.create_task(w.run_forever()) for w in workers]
        try:
            await asyncio.gather(*(w.ready.wait() for w in workers))
            answers = await asyncio.gather(
                *(
                    clients[n % 2].post("/v2/enqueue", json=event(key, f"Web {n} down", f"w{n}"))
                    for n in range(storm)
                )
            )
            assert {a.status_code for a in answers} == {202}
            for _ in range(600):
                if (
                    all(a.routing for a in await all_alerts(ctx))
                    and len(await all_alerts(ctx)) == storm
                ):
                    break
                await asyncio.sleep(0.1)
        finally:
            for w in workers:
                w.stop()
            await asyncio.gather(*tasks)
    found = await all_alerts(ctx)
    [incident] = await all_incidents(ctx)
    assert len(found) == storm and {a.incident_id for a in found} == {incident.id}
    assert sorted(a.routing or "" for a in found) == ["grouped"] * (storm - 1) + ["opened"]


async def test_the_alerts_api_shows_what_routing_decided(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx, await token(ctx, "admin@example.com", admin=True)) as http:
        await send(ctx, http, event(key, "Checkout 5xx", "5xx", **{"class": "http-5xx"}))
        [alert] = (await http.get("/api/v1/alerts")).json()["alerts"]
    assert (alert["route"], alert["routing"], alert["service"], alert["team"]) == (
        "checkout-down",
        "opened",
        "checkout",
        "payments",
    )


LADDERS = """
escalation:
  - key: by-severity
    severities: [SEV1, SEV2]
    steps:
      - {at: 0m, page: [user:ida]}
  - key: database-team
    severities: [SEV4]
    steps:
      - {at: 0m, page: [user:ida]}
      - {at: 5m, page: [user:ida]}
"""


async def test_a_route_chooses_the_escalation_ladder(ctx: Context) -> None:
    routes = ROUTES_POLICY.replace(
        "      service: db\n", "      service: db\n      escalation: database-team\n"
    )
    key = await apply(ctx, routes + LADDERS)
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            event(key, "Orders DB replica lag", "lag", component="database"),
            event(key, "Checkout 5xx above 50%", "5xx", **{"class": "http-5xx"}),
        )
    lag, five_xx = await all_alerts(ctx)
    async with ctx.db.read() as session:
        chosen = await session.get(Escalation, lag.incident_id)
        by_severity = await session.get(Escalation, five_xx.incident_id)
        incident = await session.get(Incident, lag.incident_id)
    # SEV2 would take the first ladder; the route's choice wins and is kept.
    assert chosen is not None and chosen.ladder_key == "database-team"
    assert incident is not None and incident.ladder_key == "database-team"
    assert by_severity is not None and by_severity.ladder_key == "by-severity"


async def test_a_route_naming_an_unknown_ladder_fails_the_policy_check(ctx: Context) -> None:
    routes = ROUTES_POLICY.replace(
        "      service: db\n", "      service: db\n      escalation: nope\n"
    )
    with pytest.raises(PolicyInvalid) as caught:
        await apply(ctx, routes + LADDERS)
    problems = caught.value.details
    assert any(
        p["path"] == "alerts.routes[3].escalation" and "'nope'" in p["message"] for p in problems
    ), problems
