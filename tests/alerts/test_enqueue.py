"""``POST /v2/enqueue``: PagerDuty's Events API v2, its answers, de-duplication, incidents."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from tests.alerts.conftest import Enqueue, drain, trigger

from tocsin.alerts.models import Alert, AlertEvent
from tocsin.context import Context
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.jobs.models import Job


async def count(ctx: Context, model: Any) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def alerts_of(ctx: Context) -> list[Alert]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(Alert).order_by(Alert.id))).all())


async def events_of(ctx: Context) -> list[AlertEvent]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(AlertEvent).order_by(AlertEvent.id))).all())


async def incidents_of(ctx: Context) -> list[Incident]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


def accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"status", "message", "dedup_key"}, body
    assert body["status"] == "success" and body["message"] == "Event processed"
    assert isinstance(body["dedup_key"], str) and body["dedup_key"]
    return str(body["dedup_key"])


async def test_a_trigger_is_stored_before_the_answer_and_processed_by_a_job(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    response = await enqueue(trigger(key, dedup_key="checkout-5xx"))
    assert accepted(response) == "checkout-5xx"
    [event] = await events_of(ready)
    assert (event.action, event.dedup_key, event.outcome) == ("trigger", "checkout-5xx", None)
    assert event.payload["payload"]["summary"] == "Checkout 5xx above 50%"
    assert event.payload["routing_key"] == key[:4] + "…"  # the secret is not stored
    assert await count(ready, Alert) == 0
    assert await count(ready, Job) == 1

    await drain(ready)
    [alert] = await alerts_of(ready)
    assert (alert.status, alert.count, alert.dedup_key) == ("triggered", 1, "checkout-5xx")
    assert (alert.summary, alert.source, alert.severity) == (
        "Checkout 5xx above 50%",
        "web-01",
        "critical",
    )
    [event] = await events_of(ready)
    assert (event.outcome, event.alert_id) == ("opened", alert.id)
    # The default route: an incident titled by the summary, at the least severe level.
    [incident] = await incidents_of(ready)
    assert alert.incident_id == incident.id
    assert (incident.title, incident.severity) == ("Checkout 5xx above 50%", "SEV4")
    async with ready.db.read() as session:
        declared = await session.scalar(
            select(IncidentEvent).where(
                IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "declared"
            )
        )
    assert declared is not None and declared.actor == "integration:datadog"


async def test_a_trigger_without_a_dedup_key_always_opens_a_new_alert(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    first = accepted(await enqueue(trigger(key)))
    second = accepted(await enqueue(trigger(key)))
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    await drain(ready)
    alerts = await alerts_of(ready)
    assert [(a.dedup_key, a.count) for a in alerts] == [(first, 1), (second, 1)]
    assert len(await incidents_of(ready)) == 2
    # The generated key works for what follows, as PagerDuty's does.
    accepted(await enqueue({"routing_key": key, "event_action": "resolve", "dedup_key": first}))
    await drain(ready)
    assert [a.status for a in await alerts_of(ready)] == ["resolved", "triggered"]


async def test_repeated_triggers_update_the_open_alert(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    accepted(await enqueue(trigger(key, "Errors at 10%", dedup_key="k")))
    await drain(ready)
    ready.clock.advance(minutes=3)
    again = trigger(key, "Errors at 60%", dedup_key="k")
    again["payload"]["severity"] = "error"
    accepted(await enqueue(again))
    accepted(await enqueue(trigger(key, "Errors at 70%", dedup_key="k")))
    await drain(ready)
    [alert] = await alerts_of(ready)
    assert (alert.count, alert.status, alert.summary) == (3, "triggered", "Errors at 70%")
    assert alert.last_seen_at == ready.clock.now()
    assert alert.created_at < alert.last_seen_at
    assert [e.outcome for e in await events_of(ready)] == ["opened", "updated", "updated"]
    assert len(await incidents_of(ready)) == 1


async def test_acknowledge_then_resolve_then_the_same_key_opens_a_new_alert(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    def event(action: str) -> dict[str, Any]:
        return {"routing_key": key, "event_action": action, "dedup_key": "db-down"}

    accepted(await enqueue(trigger(key, "DB down", dedup_key="db-down")))
    accepted(await enqueue(event("acknowledge")))
    accepted(await enqueue(trigger(key, "DB still down", dedup_key="db-down")))
    accepted(await enqueue(event("acknowledge")))
    await drain(ready)
    [alert] = await alerts_of(ready)
    # A trigger on an acknowledged alert counts, and leaves it acknowledged.
    assert (alert.status, alert.count) == ("acknowledged", 2)
    assert alert.acknowledged_at is not None
    accepted(await enqueue(event("resolve")))
    accepted(await enqueue(event("resolve")))
    accepted(await enqueue(trigger(key, "DB down again", dedup_key="db-down")))
    await drain(ready)
    first, second = await alerts_of(ready)
    assert (first.status, first.count, first.resolved_at) == ("resolved", 2, ready.clock.now())
    assert (second.status, second.count, second.summary) == ("triggered", 1, "DB down again")
    outcomes = [(e.action, e.outcome) for e in await events_of(ready)]
    assert outcomes == [
        ("trigger", "opened"),
        ("acknowledge", "acknowledged"),
        ("trigger", "updated"),
        ("acknowledge", "unchanged"),
        ("resolve", "resolved"),
        ("resolve", "dropped"),
        ("trigger", "opened"),
    ]
    # Acknowledged and resolved at the source: on the first incident's timeline.
    incidents = await incidents_of(ready)
    assert len(incidents) == 2
    async with ready.db.read() as session:
        notes = (
            await session.scalars(
                select(IncidentEvent.summary)
                .where(IncidentEvent.incident_id == incidents[0].id, IncidentEvent.kind == "note")
                .order_by(IncidentEvent.id)
            )
        ).all()
    assert [n.split(":")[0] for n in notes] == [
        f"Alert {first.id} acknowledged at its source (Datadog)",
        f"Alert {first.id} resolved at its source (Datadog)",
    ]


async def test_acknowledge_or_resolve_of_an_unknown_key_is_accepted_and_dropped(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    for action in ("acknowledge", "resolve"):
        body = {"routing_key": key, "event_action": action, "dedup_key": "never-seen"}
        assert accepted(await enqueue(body)) == "never-seen"
    await drain(ready)
    assert await alerts_of(ready) == []
    events = await events_of(ready)
    assert [(e.outcome, e.reason, e.alert_id) for e in events] == [
        ("dropped", "no open alert with this dedup key", None)
    ] * 2
    assert await incidents_of(ready) == []


async def test_the_same_dedup_key_on_two_integrations_is_two_alerts(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    from tests.alerts.conftest import make_integration

    other = await make_integration(ready, "Uptime Kuma")
    accepted(await enqueue(trigger(key, dedup_key="same")))
    accepted(await enqueue(trigger(other, dedup_key="same")))
    # A resolve through the other integration's key does not touch the first one's alert.
    accepted(await enqueue({"routing_key": other, "event_action": "resolve", "dedup_key": "same"}))
    await drain(ready)
    assert [(a.status, a.count) for a in await alerts_of(ready)] == [
        ("triggered", 1),
        ("resolved", 1),
    ]


async def test_every_documented_field_is_kept(ready: Context, key: str, enqueue: Enqueue) -> None:
    body = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "samplekeyhere",
        "payload": {
            "summary": "Example alert on host1.example.com",
            "timestamp": "2026-01-15T08:42:58.315+0000",
            "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api",
            "severity": "info",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "deploy",
            "custom_details": {"ping time": "1500ms", "load avg": 0.75},
        },
        "images": [
            {"src": "https://example.com/graph.png", "href": "https://example.com/", "alt": "x"}
        ],
        "links": [{"href": "https://example.com/", "text": "Link text"}],
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com",
        "something_pagerduty_ignores": True,
    }
    accepted(await enqueue(body))
    await drain(ready)
    [alert] = await alerts_of(ready)
    assert (alert.component, alert.group, alert.class_, alert.severity) == (
        "postgres",
        "prod-datapipe",
        "deploy",
        "info",
    )
    assert alert.details == {"ping time": "1500ms", "load avg": 0.75}
    # The source's timestamp is when the problem was detected (here 17 minutes earlier).
    assert alert.detected_at.isoformat() == "2026-01-15T08:42:58.315000+00:00"
    [incident] = await incidents_of(ready)
    assert incident.detected_at == alert.detected_at
    [event] = await events_of(ready)
    assert event.payload["images"] == body["images"]
    assert event.payload["client_url"] == "https://monitoring.example.com"
    assert event.fields["links"] == body["links"]


async def test_a_timestamp_in_the_future_counts_as_now(
    ready: Context, key: str, enqueue: Enqueue
) -> None:
    body = trigger(key)
    body["payload"]["timestamp"] = "2030-01-01T00:00:00Z"
    accepted(await enqueue(body))
    await drain(ready)
    [alert] = await alerts_of(ready)
    assert alert.detected_at == ready.clock.now()


async def test_charset_in_the_content_type_is_fine(key: str, enqueue: Enqueue) -> None:
    import json

    response = await enqueue(
        content=json.dumps(trigger(key)).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    accepted(response)
