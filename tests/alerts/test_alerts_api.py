"""``GET /api/v1/alerts`` and ``GET /api/v1/alerts/{id}``."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from tests.alerts.conftest import Enqueue, HttpFor, drain, token, trigger

from tocsin.alerts.models import Alert
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn

API = "/api/v1"


async def _three_alerts(ready: Context, key: str, enqueue: Enqueue) -> None:
    for dedup in ("a", "b", "c"):
        assert (await enqueue(trigger(key, f"Alert {dedup}", dedup_key=dedup))).status_code == 202
        ready.clock.advance(seconds=1)
    await enqueue(trigger(key, "Alert a again", dedup_key="a"))
    await enqueue({"routing_key": key, "event_action": "acknowledge", "dedup_key": "b"})
    await enqueue({"routing_key": key, "event_action": "resolve", "dedup_key": "c"})
    await drain(ready)


async def test_list_filter_and_page(
    ready: Context, key: str, enqueue: Enqueue, admin: httpx.AsyncClient
) -> None:
    await _three_alerts(ready, key, enqueue)
    body = (await admin.get(f"{API}/alerts")).json()
    assert body["total"] == 3
    assert [(a["dedup_key"], a["status"], a["count"]) for a in body["alerts"]] == [
        ("c", "resolved", 1),
        ("b", "acknowledged", 1),
        ("a", "triggered", 2),
    ]
    first = body["alerts"][2]
    assert first["integration"] == "datadog" and first["incident"].startswith("INC-")
    assert first["summary"] == "Alert a again" and "class" in first and "events" in first
    open_ = (
        await admin.get(f"{API}/alerts", params={"status": ["triggered", "acknowledged"]})
    ).json()
    assert [a["dedup_key"] for a in open_["alerts"]] == ["b", "a"]
    page = (await admin.get(f"{API}/alerts", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 3 and [a["dedup_key"] for a in page["alerts"]] == ["b"]
    other = (await admin.get(f"{API}/alerts", params={"integration": "prometheus"})).json()
    assert other == {"alerts": [], "total": 0}
    bad = await admin.get(f"{API}/alerts", params={"status": "open"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["unknown"] == ["open"]


async def test_show_with_its_events(
    ready: Context, key: str, enqueue: Enqueue, admin: httpx.AsyncClient
) -> None:
    await _three_alerts(ready, key, enqueue)
    listed = (await admin.get(f"{API}/alerts", params={"status": "triggered"})).json()
    alert_id = listed["alerts"][0]["id"]
    shown = (await admin.get(f"{API}/alerts/{alert_id}")).json()
    assert shown["count"] == 2
    assert [(e["action"], e["outcome"]) for e in shown["events"]] == [
        ("trigger", "opened"),
        ("trigger", "updated"),
    ]
    assert shown["events"][0]["payload"]["payload"]["summary"] == "Alert a"
    missing = await admin.get(f"{API}/alerts/987654")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_alerts_of_restricted_incidents_are_for_participants(
    ready: Context, key: str, enqueue: Enqueue, admin: httpx.AsyncClient, http_as: HttpFor
) -> None:
    await enqueue(trigger(key, "Suspicious logins", dedup_key="sec"))
    await enqueue(trigger(key, "Disk full", dedup_key="disk"))
    await drain(ready)
    async with ready.db.write() as session:
        secret = await incidents.declare(
            session,
            SYSTEM,
            DeclareIn(title="Breach", severity="SEV1", type="security"),
            clock=ready.clock,
        )
        assert secret.restricted
        await session.execute(
            update(Alert).where(Alert.dedup_key == "sec").values(incident_id=secret.id)
        )
    dev = http_as(await token(ready, "dev@example.com"))
    seen = (await dev.get(f"{API}/alerts")).json()
    assert [a["dedup_key"] for a in seen["alerts"]] == ["disk"] and seen["total"] == 1
    hidden = [
        a["id"]
        for a in (await admin.get(f"{API}/alerts")).json()["alerts"]
        if a["dedup_key"] == "sec"
    ]
    assert (await dev.get(f"{API}/alerts/{hidden[0]}")).status_code == 404
    assert (await admin.get(f"{API}/alerts/{hidden[0]}")).status_code == 200


async def test_alerts_need_a_token(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get(f"{API}/alerts")).status_code == 401
    assert (await app_client.get(f"{API}/integrations")).status_code == 401
