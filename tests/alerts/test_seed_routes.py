"""The example policies' alert routes: alerts sent through the app land on the severity
their seed documents (seed 000's symptoms, seed 002's alerting rules, seed 003's alert
classes), and seed 003's classes reach the channels the runbook names."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from tests.alerts.routed import all_alerts, client, event, send

from tocsin.alerts import service as alerts
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.policy import service as policies
from tocsin.policy.loader import load_policy_file

POLICIES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SEED_000 = POLICIES / "seed-000-arabisch-online-leren.yaml"
SEED_002 = POLICIES / "seed-002-incident-response-runbook.yaml"
SEED_003 = POLICIES / "seed-003-incident-response-procedures.yaml"


async def _seed(ctx: Context, path: Path, integration: str) -> str:
    """Apply an example policy as it is; the key of one of its integrations."""
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, path.read_text(encoding="utf-8"), clock=ctx.clock, source=path.name
        )
        made = await alerts.rotate_key(
            session, SYSTEM, integration, clock=ctx.clock, public_url=ctx.settings.public_url
        )
    assert made.key is not None
    return made.key


async def _landed(ctx: Context) -> list[tuple[str, str | None, str, str | None, list[str]]]:
    """(summary, route, incident severity, type, components) of each alert, in order."""
    async with ctx.db.read() as session:
        incidents = {i.id: i for i in (await session.scalars(select(Incident))).all()}
    return [
        (
            a.summary,
            a.route,
            incidents[a.incident_id].severity,
            incidents[a.incident_id].type,
            incidents[a.incident_id].components,
        )
        for a in await all_alerts(ctx)
        if a.incident_id is not None
    ]


async def test_seed_000_symptoms_land_on_their_severity(ctx: Context) -> None:
    policy = load_policy_file(SEED_000)[1]
    expected = [
        (symptom, severity.key)
        for severity in policy.severities
        if severity.key in ("P0", "P1", "P2", "P3")
        for symptom in severity.symptoms
    ]
    assert len(expected) == 22
    key = await _seed(ctx, SEED_000, "uptime")
    async with client(ctx) as http:
        # Each its own alert group: one incident each (the storm test below groups).
        await send(
            ctx,
            http,
            *(event(key, text, f"s{n}", group=f"g{n}") for n, (text, _) in enumerate(expected)),
        )
    landed = await _landed(ctx)
    assert [(text, severity) for text, _, severity, _, _ in landed] == expected
    by_text = {text: (route, type_, components) for text, route, _, type_, components in landed}
    assert by_text["Platform retourneert 5xx errors voor >50% requests"] == (
        "p0-5xx",
        None,
        ["frontend"],
    )
    assert by_text["Security breach: unauthorized access, data leak"] == (
        "p0-security",
        "security-breach",
        [],
    )
    assert by_text["Email notificaties vertraagd"][0] == "p2-email-delayed"
    assert by_text["UI glitches"][0] == "default"


async def test_seed_000_thresholds_and_a_storm(ctx: Context) -> None:
    key = await _seed(ctx, SEED_000, "uptime")
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            *(event(key, f"Checkout 5xx above {62 + n}% of requests", f"w{n}") for n in range(5)),
            event(key, "Checkout 5xx above 40% of requests", "low", group="other"),
            event(key, "Some request failed", "x", **{"class": "5xx-majority"}, group="c"),
            event(
                key,
                "Alertmanager: firing",
                "y",
                group="d",
                custom_details={"labels": {"alertname": "Platform5xxMajority"}},
            ),
        )
    landed = await _landed(ctx)
    # Five alerts of one storm on the frontend: one P0 incident.
    assert {severity for _, _, severity, _, _ in landed[:5]} == {"P0"}
    async with ctx.db.read() as session:
        incidents = (await session.scalars(select(Incident).order_by(Incident.id))).all()
    assert len({a.incident_id for a in (await all_alerts(ctx))[:5]}) == 1
    # 40% is not "more than 50%": no symptom, the default P3; the rule's class and its
    # alertname label say P0.
    assert [(route, severity) for _, route, severity, _, _ in landed[5:]] == [
        ("default", "P3"),
        ("p0-5xx", "P0"),
        ("p0-5xx", "P0"),
    ]
    assert len(incidents) == 4


async def test_seed_002_alerting_rules(ctx: Context) -> None:
    rules = [
        ("Application down", "P0"),
        ("Database unavailable", "P0"),
        ("Payment processing failed", "P0"),
        ("High error rate (>5%)", "P1"),
        ("Slow response time (>5s)", "P1"),
        ("Database performance degradation", "P1"),
        ("Unusual traffic patterns", "P3"),
        ("Feature usage anomalies", "P3"),
        ("Security events", "P2"),
    ]
    key = await _seed(ctx, SEED_002, "monitoring")
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            *(event(key, text, f"r{n}", group=f"g{n}") for n, (text, _) in enumerate(rules)),
        )
    landed = await _landed(ctx)
    assert [(text, severity) for text, _, severity, _, _ in landed] == rules
    assert [type_ for _, _, _, type_, _ in landed][4:6] == ["performance", "database"]
    assert landed[-1][3] == "security"


async def _kinds(ctx: Context, incident_id: int) -> list[tuple[str, str]]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .where(IncidentEvent.kind.in_(("page", "notify", "comms")))
            .order_by(IncidentEvent.id)
        )
        return [(e.kind, e.summary) for e in rows.all()]


async def test_seed_003_alert_classes_reach_the_runbook_channels(ctx: Context) -> None:
    key = await _seed(ctx, SEED_003, "monitoring")
    classes = [("critical", "P0"), ("error", "P1"), ("warning", "P2"), ("info", "P3")]
    async with client(ctx) as http:
        await send(
            ctx,
            http,
            *(event(key, f"Checkout {s} alert", s, severity=s) for s, _ in classes),
            event(key, "Suspicious API calls from 203.0.113.9", "sec", severity="warning"),
        )
    landed = await _landed(ctx)
    assert [(route, severity) for _, route, severity, _, _ in landed] == [
        ("critical", "P0"),
        ("high", "P1"),
        ("medium", "P2"),
        ("low", "P3"),
        ("security-tool", "P0"),
    ]
    assert landed[-1][3] == "security-breach"
    critical, high, medium, low, _ = (a.incident_id or 0 for a in await all_alerts(ctx))
    # Critical → PagerDuty → on-call engineer: the P0 ladder pages the primary schedule.
    assert any(k == "page" and "schedule:primary" in s for k, s in await _kinds(ctx, critical))
    # High → Slack channel + e-mail; medium → Slack channel; low → ticket system.
    assert _routes(await _kinds(ctx, high)) == ["incidents-declared", "p1-email"]
    assert _routes(await _kinds(ctx, medium)) == ["incidents-declared"]
    assert _routes(await _kinds(ctx, low)) == ["p3-ticket"]
    assert not any(k == "page" for k, _ in await _kinds(ctx, low))


def _routes(events: list[tuple[str, str]]) -> list[str]:
    """The comms routes that fired ("Route KEY fired: ..." on the timeline)."""
    return [s.split()[1] for k, s in events if k == "comms" and " fired: " in s]
