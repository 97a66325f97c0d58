"""The escalation state and posted updates over HTTP, with seed 004's SEV1 ladder."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tocsin.context import Context
from tocsin.jobs.registry import load_handlers
from tocsin.simulate.runner import run_until

API = "/api/v1"


async def _declare(client: httpx.AsyncClient, severity: str = "SEV1") -> str:
    response = await client.post(f"{API}/incidents", json={"title": "Down", "severity": severity})
    assert response.status_code == 201, response.text
    ref: str = response.json()["id"]
    return ref


async def test_escalation_shows_fired_cancelled_and_next_steps(
    client: httpx.AsyncClient, seeded: Context
) -> None:
    load_handlers()
    ref = await _declare(client)
    await run_until(seeded.db, seeded.clock, seeded.clock.now() + timedelta(minutes=1))  # type: ignore[arg-type]
    state = (await client.get(f"{API}/incidents/{ref}/escalation")).json()
    assert state["ladder"] == "sev1" and state["status"] == "active"
    assert [(s["step"], s["action"], s["status"]) for s in state["steps"]] == [
        (1, "page", "fired"),
        (2, "notify", "pending"),
        (3, "page", "pending"),
    ]
    assert state["steps"][0]["reason"] == "sev1 escalation step 1: not acknowledged"
    assert state["next"]["targets"] == [
        "team:executive",
        "role:head-of-customer-success",
        "role:product-manager",
    ]
    resolved = await client.post(f"{API}/incidents/{ref}/resolve")
    assert resolved.status_code == 200, resolved.text
    state = (await client.get(f"{API}/incidents/{ref}/escalation")).json()
    assert state["status"] == "stopped" and state["stop_reason"] == "incident resolved"
    assert state["next"] is None
    assert {s["status"] for s in state["steps"][1:]} == {"cancelled"}
    kinds = [e["kind"] for e in (await client.get(f"{API}/incidents/{ref}/timeline")).json()]
    assert "page" in kinds and "escalation_cancelled" in kinds


async def test_a_severity_without_a_ladder_has_no_escalation(client: httpx.AsyncClient) -> None:
    ref = await _declare(client, "SEV4")
    state = (await client.get(f"{API}/incidents/{ref}/escalation")).json()
    assert state == {
        "incident": ref,
        "ladder": None,
        "started_at": None,
        "status": "none",
        "stop_reason": None,
        "next": None,
        "steps": [],
    }


async def test_post_update_is_on_the_timeline(client: httpx.AsyncClient) -> None:
    ref = await _declare(client)
    posted = await client.post(f"{API}/incidents/{ref}/updates", json={"text": "Rolling back"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["kind"] == "update"
    empty = await client.post(f"{API}/incidents/{ref}/updates", json={"text": "   "})
    assert empty.status_code == 422
