"""Postmortems and action items through HTTP: create on resolve, export and import,
review to final, root cause, action items across incidents, and the errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from tests.api.conftest import Declare, ErrorOf

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context

API = "/api/v1"


async def _as(ctx: Context, http_for: Any, email: str) -> httpx.AsyncClient:
    """A client acting as a person the policy already made a user."""
    async with ctx.db.write() as session:
        _, secret = await auth.create_token(session, SYSTEM, email, clock=ctx.clock)
    client: httpx.AsyncClient = http_for(secret)
    return client


async def _resolved(client: httpx.AsyncClient, declare: Declare) -> str:
    ref: str = (await declare("Scores lost", severity="SEV1", summary="No scores saved"))["id"]
    assert (await client.post(f"{API}/incidents/{ref}/resolve")).status_code == 200
    return ref


async def test_postmortem_review_to_final(
    client: httpx.AsyncClient, seeded: Context, http_for: Any, declare: Declare, error: ErrorOf
) -> None:
    ref = await _resolved(client, declare)
    pm = f"{API}/incidents/{ref}/postmortem"
    shown = (await client.get(pm)).json()
    assert (shown["template"], shown["status"]) == ("post-mortem", "draft")
    assert shown["deadlines"][0]["name"] == "Postmortem meeting"

    changed = await client.patch(pm, json={"sections": {"lessons-learned": "1. Test at scale"}})
    assert changed.status_code == 200, changed.text
    body = {s["key"]: s["body"] for s in changed.json()["sections"]}
    assert body["lessons-learned"] == "1. Test at scale"
    err = error(await client.patch(pm, json={"sections": {"nope": "x"}}), 422, "invalid_input")
    assert err["details"]["unknown"] == ["nope"]

    err = error(await client.post(f"{pm}/status", json={"status": "in_review"}), 422)
    assert err["details"] == {"field": "reviewers"}
    review = {"status": "in_review", "reviewers": ["tech.lead@example.com"]}
    assert (await client.post(f"{pm}/status", json=review)).json()["status"] == "in_review"
    err = error(await client.post(f"{pm}/status", json={"status": "final"}), 409)
    assert err["details"]["waiting_for"] == ["tech.lead@example.com"]
    error(await client.post(f"{pm}/approve"), 403, "not_a_reviewer")  # the admin is not one
    lead = await _as(seeded, http_for, "tech.lead@example.com")
    approved = (await lead.post(f"{pm}/approve")).json()
    assert approved["reviewers"][0]["approved_at"] is not None
    final = (await client.post(f"{pm}/status", json={"status": "final"})).json()
    assert final["status"] == "final" and final["finalized_at"] is not None
    error(await client.patch(pm, json={"sections": {}}), 409, "postmortem_final")
    text = (await client.get(f"{pm}.md")).text
    assert "**Status**: Final\n" in text and "**Reviewers**: tech.lead@example.com\n" in text


async def test_export_edit_import_and_root_cause(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    ref = await _resolved(client, declare)
    pm = f"{API}/incidents/{ref}/postmortem"
    exported = await client.get(f"{pm}.md")
    assert exported.headers["content-type"].startswith("text/markdown")
    text = exported.text.replace(
        "[Technical description of the underlying cause]", "Connection pool exhausted"
    )
    imported = await client.post(f"{pm}/import", json={"markdown": text})
    assert imported.status_code == 200, imported.text
    assert (await client.get(f"{pm}.md")).text == text
    err = error(await client.post(f"{pm}/import", json={"markdown": "hello"}), 422)
    assert err["details"] == {"line": 1}

    cause = await client.put(
        f"{API}/incidents/{ref}/root-cause", json={"root_cause": "Memory leaks in application code"}
    )
    assert cause.json() == {"root_cause": "memory-leak"}
    err = error(
        await client.put(f"{API}/incidents/{ref}/root-cause", json={"root_cause": "gremlins"}), 422
    )
    assert err["details"] == {"field": "root_cause", "value": "gremlins"}
    assert (
        "**Root Cause Category**: Memory leaks in application code"
        in (await client.get(f"{pm}.md")).text
    )
    timeline = (await client.get(f"{API}/incidents/{ref}/timeline")).json()
    assert [e["kind"] for e in timeline].count("root_cause") == 1


async def test_action_items_through_the_api(
    client: httpx.AsyncClient, seeded: Context, declare: Declare, error: ErrorOf
) -> None:
    first = (await declare("Scores lost"))["id"]
    second = (await declare("Slow reports"))["id"]
    add = f"{API}/incidents/{{}}/action-items"
    made = await client.post(
        add.format(first),
        json={
            "title": "Pool monitoring",
            "owner": "tech.lead@example.com",
            "due_on": "2026-01-16",
            "priority": "immediate",
            "url": "https://tracker.example.com/OPS-1",
        },
    )
    assert made.status_code == 201, made.text
    item = made.json()
    assert (item["number"], item["owner"], item["team"]) == (1, "tech.lead", "engineering")
    assert item["due_at"] == "2026-01-16T17:00:00Z"  # end of business day, UTC zone
    await client.post(add.format(second), json={"title": "Index", "owner": "comms"})
    error(await client.post(add.format(second), json={"title": "x", "owner": "zz"}), 422)

    listed = (await client.get(f"{API}/action-items")).json()
    assert [(i["incident"], i["number"]) for i in listed["items"]] == [(first, 1), (second, 1)]
    seeded.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    overdue = (await client.get(f"{API}/action-items", params={"overdue": True})).json()
    assert [(i["incident"], i["overdue"]) for i in overdue["items"]] == [(first, True)]
    mine = (await client.get(f"{API}/action-items", params={"owner": "comms"})).json()
    assert [i["incident"] for i in mine["items"]] == [second]
    team = (await client.get(f"{API}/action-items", params={"team": "product"})).json()
    assert [i["incident"] for i in team["items"]] == [second]

    done = await client.patch(f"{add.format(first)}/1", json={"status": "done"})
    assert done.json()["status"] == "done" and done.json()["done_at"] is not None
    assert [i["incident"] for i in (await client.get(f"{API}/action-items")).json()["items"]] == [
        second
    ]
    closed = (
        await client.get(f"{API}/action-items", params={"status": ["done", "wont_do"]})
    ).json()
    assert [i["incident"] for i in closed["items"]] == [first]
    error(await client.patch(f"{add.format(first)}/9", json={"status": "done"}), 404)
    error(await client.get(f"{API}/action-items", params={"status": "closed"}), 422)
