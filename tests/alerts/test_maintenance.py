"""Maintenance windows: alerts kept but no incident (nobody paged), from the policy and the
API; shown on the incident list; who may add and end them; bad input named."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from tests.alerts.conftest import DEFAULT_POLICY, token, trigger
from tests.alerts.routed import ROUTES_POLICY, all_alerts, all_incidents, apply, client, event, send

from tocsin.context import Context
from tocsin.jobs.models import Job
from tocsin.notify.models import Notification

WINDOW = """  maintenance:
    - {key: upgrade, service: checkout, starts: 2026-01-15T08:00Z, ends: 2026-01-15T10:00Z, reason: DB upgrade}
"""


async def test_alerts_of_a_service_in_a_policy_window_open_no_incident(ctx: Context) -> None:
    # The clock starts at 2026-01-15 09:00 UTC: inside the window.
    key = await apply(ctx, ROUTES_POLICY + WINDOW)
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            event(key, "Checkout 5xx", "5xx", **{"class": "http-5xx"}),
            event(key, "Checkout 5xx", "5xx", **{"class": "http-5xx"}),
            event(key, "Orders DB lag", "lag", component="database"),  # service db: not held
        )
        held, lag = await all_alerts(ctx)
        assert (held.routing, held.count, held.incident_id) == ("maintenance", 2, None)
        assert (held.route, held.service) == ("checkout-down", "checkout")
        assert lag.routing == "opened"
        [incident] = await all_incidents(ctx)
        assert incident.id == lag.incident_id
        async with ctx.db.read() as session:
            pages = await session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.incident_id != incident.id)
            )
            steps = await session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == "escalation.step")
            )
        assert pages == 0 and steps == 0  # nothing at all for the held alert (SEV1!)
        # After the window a new alert of the service opens an incident again.
        ctx.clock.advance(hours=1)
        await send(ctx, http, event(key, "Checkout 5xx", "5xx-2", **{"class": "http-5xx"}))
    assert (await all_alerts(ctx))[-1].routing == "opened"
    assert len(await all_incidents(ctx)) == 2


async def test_windows_through_the_api(ctx: Context) -> None:
    key = await apply(ctx, ROUTES_POLICY + WINDOW.replace("checkout", "search"))
    admin = await token(ctx, "admin@example.com", admin=True)
    async with client(ctx, admin) as http:
        made = await http.post(
            "/api/v1/maintenance-windows",
            json={"service": "checkout", "duration": "2h", "reason": "Payment provider switch"},
        )
        assert made.status_code == 201, made.text
        window = made.json()
        assert (window["id"], window["service"], window["origin"], window["active"]) == (
            "1",
            "checkout",
            "api",
            True,
        )
        assert (
            window["ends_at"] == "2026-01-15T11:00:00Z"
            and window["created_by"] == "admin@example.com"
        )
        later = await http.post(
            "/api/v1/maintenance-windows",
            json={
                "service": "api",
                "starts_at": "2026-01-16T22:00:00+01:00",
                "ends_at": "2026-01-16T23:00:00+01:00",
            },
        )
        assert later.status_code == 201 and later.json()["active"] is False
        listed = (await http.get("/api/v1/maintenance-windows")).json()
        assert [(w["id"], w["active"]) for w in listed] == [
            ("policy:upgrade", True),
            ("1", True),
            ("2", False),
        ]
        # Alerts of checkout are held now.
        await send(ctx, http, event(key, "Checkout 5xx", "a", **{"class": "http-5xx"}))
        assert (await all_alerts(ctx))[0].routing == "maintenance"
        # Ended: the next alert opens an incident; ending twice is refused.
        ctx.clock.advance(minutes=10)
        ended = await http.post("/api/v1/maintenance-windows/1/end")
        assert ended.status_code == 200
        assert (ended.json()["ends_at"], ended.json()["active"]) == ("2026-01-15T09:10:00Z", False)
        assert ended.json()["ended_by"] == "admin@example.com"
        again = await http.post("/api/v1/maintenance-windows/1/end")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "maintenance_ended")
        await send(ctx, http, event(key, "Checkout 5xx", "b", **{"class": "http-5xx"}))
        assert (await all_alerts(ctx))[1].routing == "opened"
        # One that has not started is cancelled.
        cancelled = (await http.post("/api/v1/maintenance-windows/2/end")).json()
        assert cancelled["ends_at"] == cancelled["starts_at"]
        assert [w["id"] for w in (await http.get("/api/v1/maintenance-windows")).json()] == [
            "policy:upgrade"
        ]
        assert len((await http.get("/api/v1/maintenance-windows?all=true")).json()) == 3
        policy_one = await http.post("/api/v1/maintenance-windows/policy:upgrade/end")
        assert (policy_one.status_code, policy_one.json()["error"]["code"]) == (
            409,
            "maintenance_in_policy",
        )
        missing = await http.post("/api/v1/maintenance-windows/99/end")
        assert missing.status_code == 404
        audit = (await http.get("/api/v1/audit")).json()
    actions = [e["action"] for e in (audit["entries"] if isinstance(audit, dict) else audit)]
    assert actions.count("maintenance.add") == 2 and actions.count("maintenance.end") == 2


async def test_times_without_a_zone_are_in_the_policy_time_zone(ctx: Context) -> None:
    await apply(ctx, base=DEFAULT_POLICY.replace("timezone: UTC", "timezone: Europe/Amsterdam"))
    async with client(ctx, await token(ctx, "admin@example.com", admin=True)) as http:
        made = await http.post(
            "/api/v1/maintenance-windows",
            json={
                "service": "checkout",
                "starts_at": "2026-01-20 22:00",
                "ends_at": "2026-01-20T23:30",
            },
        )
    assert made.status_code == 201, made.text
    assert (made.json()["starts_at"], made.json()["ends_at"]) == (
        "2026-01-20T21:00:00Z",
        "2026-01-20T22:30:00Z",
    )


async def test_who_may_add_and_end_windows(ctx: Context) -> None:
    ops = "\nroles:\n  - {key: ops, name: Ops, permissions: [manage-maintenance]}\n"
    await apply(ctx, base=DEFAULT_POLICY.replace("\nroles:\n", ops, 1))
    async with client(ctx, await token(ctx, "viewer@example.com")) as http:
        refused = await http.post(
            "/api/v1/maintenance-windows", json={"service": "checkout", "duration": "1h"}
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["details"] == {
            "permission": "manage-maintenance",
            "granted_by_roles": ["ops"],
        }
        assert (await http.get("/api/v1/maintenance-windows")).status_code == 200
    async with client(ctx, await token(ctx, "ops@example.com", roles=("ops",))) as http:
        made = await http.post(
            "/api/v1/maintenance-windows", json={"service": "checkout", "duration": "1h"}
        )
        assert made.status_code == 201
        assert (await http.post("/api/v1/maintenance-windows/1/end")).status_code == 200


async def test_bad_windows_are_refused_with_what_and_where(ctx: Context) -> None:
    await apply(ctx)
    cases = [
        ({"service": "checkout"}, "ends_at", "give the window's end"),
        (
            {"service": "checkout", "duration": "1h", "ends_at": "2026-01-15T12:00Z"},
            "ends_at",
            "not both",
        ),
        ({"service": "checkout", "duration": "soon"}, "duration", "is not a duration"),
        ({"service": "checkout", "duration": "2bd"}, "duration", "clock time"),
        (
            {"service": "checkout", "ends_at": "2026-01-15T08:00Z"},
            "ends_at",
            "must end after it starts",
        ),
        (
            {
                "service": "checkout",
                "starts_at": "2026-01-14T08:00Z",
                "ends_at": "2026-01-14T09:00Z",
            },
            "ends_at",
            "lies in the past",
        ),
    ]
    async with client(ctx, await token(ctx, "admin@example.com", admin=True)) as http:
        for body, field, says in cases:
            answer = await http.post("/api/v1/maintenance-windows", json=body)
            assert answer.status_code in (400, 422), (body, answer.text)
            error = answer.json()["error"]
            assert says in error["message"], (body, error)
            assert error["details"]["field"] == field, (body, error)
        bad_service = await http.post(
            "/api/v1/maintenance-windows", json={"service": "no spaces", "duration": "1h"}
        )
        assert bad_service.status_code == 422 and "service" in bad_service.text


async def test_the_incident_list_shows_windows_in_force(ctx: Context) -> None:
    key = await apply(ctx)
    async with client(ctx, await token(ctx, "admin@example.com", admin=True)) as http:
        await send(
            ctx,
            http,
            event(key, "Checkout 5xx", "a", **{"class": "http-5xx"}),
            event(key, "Orders DB lag", "b", component="database"),
        )
        checkout, db = await all_incidents(ctx)
        none = (await http.get("/api/v1/incidents")).json()
        assert none["maintenance"] == [] and all(i["maintenance"] == [] for i in none["incidents"])
        window = (
            await http.post(
                "/api/v1/maintenance-windows", json={"service": "checkout", "duration": "1h"}
            )
        ).json()
        listed = (await http.get("/api/v1/incidents")).json()
        assert [w["id"] for w in listed["maintenance"]] == [window["id"]]
        shown = {i["id"]: i["maintenance"] for i in listed["incidents"]}
        assert [w["service"] for w in shown[checkout.ref]] == ["checkout"] and shown[db.ref] == []
        # An incident's components count as its services too.
        await http.post(
            "/api/v1/maintenance-windows", json={"service": "payments", "duration": "1h"}
        )
        detail = (await http.get(f"/api/v1/incidents/{checkout.ref}")).json()
        assert sorted(w["service"] for w in detail["maintenance"]) == ["checkout", "payments"]
        assert detail["alert_count"] == 1
        ctx.clock.advance(timedelta(hours=2))
        assert (await http.get("/api/v1/incidents")).json()["maintenance"] == []


def test_the_cli_adds_lists_and_ends_windows_and_the_incident_list_shows_them(
    db_url: str,
) -> None:
    from tests.alerts.test_alerts_cli import Cli, _prepare, _send_and_process

    asyncio.run(_prepare(db_url))
    cli = Cli(db_url)
    assert cli("maintenance", "list").stdout.strip() == "No maintenance windows."
    added = cli("maintenance", "add", "payments", "--for", "2h", "--reason", "DB upgrade").stdout
    assert added.startswith("Added maintenance window 1: payments in maintenance until ")
    assert added.rstrip().endswith(": DB upgrade [1]")
    later = cli.json(
        "maintenance", "add", "search", "--start", "2099-01-01 22:00", "--end", "2099-01-01 23:00"
    )
    assert (later["id"], later["active"]) == ("2", False)
    table = cli("maintenance", "list").stdout.splitlines()
    assert table[0].split() == ["id", "service", "starts", "ends", "now", "by", "reason"]
    assert [line.split()[:2] for line in table[2:]] == [["1", "payments"], ["2", "search"]]
    cli("incident", "declare", "Checkout slow", "--severity", "SEV3", "--component", "payments")
    listed = cli("incident", "list").stdout.splitlines()
    assert listed[0].startswith("Maintenance: payments in maintenance until ")
    assert listed[1].split() == ["id", "severity", "status", "alerts", "declared", "title"]
    assert len([line for line in listed if line.startswith("Maintenance:")]) == 1
    assert "investigating (maintenance)" in listed[3]
    shown = cli("incident", "show", listed[3].split()[0]).stdout
    assert "Maintenance     payments in maintenance until" in shown and "Alerts          0" in shown
    refused = cli("maintenance", "end", "nope", code=1)
    assert refused.stderr.startswith("error: no maintenance window 'nope'")
    assert "Ended maintenance window 1 (payments)." in cli("maintenance", "end", "1").stdout
    assert [w["id"] for w in cli.json("maintenance", "list")] == ["2"]
    assert not cli("incident", "list").stdout.startswith("Maintenance:")
    bad = cli("maintenance", "add", "checkout", code=1)
    assert "give the window's end" in bad.stderr
    # An alert of a service in maintenance: `alerts show` says what routing did.
    cli("maintenance", "add", "checkout", "--for", "1h")
    key = cli.json("integration", "rotate-key", "prometheus")["key"]
    asyncio.run(_send_and_process(db_url, [trigger(key, "Checkout down", dedup_key="z")]))
    [alert] = cli.json("alerts", "list")["alerts"]
    shown = cli("alerts", "show", str(alert["id"])).stdout
    assert "Route         default (maintenance)" in shown and "Service       checkout" in shown
    assert "Incident      -" in shown
