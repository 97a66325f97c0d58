"""Incidents over HTTP: declaring with bad input, the lifecycle, and who may do what.

Seed 004's permission matrix: ``everyone`` may declare and add notes; acknowledging and
changing status need a role such as on-call-engineer, incident-commander or sysadmin; the
communications-coordinator may do neither.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tocsin.context import Context

API = "/api/v1"
START = datetime.fromisoformat("2026-01-15T09:00:00+00:00")
Declare = Callable[..., Any]
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def sla(incident: dict[str, Any], target: str) -> dict[str, Any]:
    found = [t for t in incident["sla"] if t["target"] == target]
    assert len(found) == 1, incident["sla"]
    return found[0]


async def status(client: httpx.AsyncClient, ref: str, value: str, **extra: Any) -> httpx.Response:
    return await client.post(f"{API}/incidents/{ref}/status", json={"status": value, **extra})


# --- declaring ----------------------------------------------------------------------------


async def test_declare_and_read_back(client: httpx.AsyncClient, seeded: Context) -> None:
    body = {
        "title": "  Scores are not saving  ",
        "severity": "SEV1",
        "type": "data-integrity",
        "summary": "Students finish games but scores vanish.",
        "components": ["score-recording", "database", "score-recording"],
        "impact": {"users_affected": 1200, "users_affected_pct": 40.5, "business_impact": "High"},
        "detected_at": "2026-01-15T10:58:00+02:00",
    }
    response = await client.post(f"{API}/incidents", json=body)
    assert response.status_code == 201, response.text
    incident = response.json()
    assert incident["id"] == "INC-2026-01-15-001"
    assert incident["title"] == "Scores are not saving"
    assert incident["status"] == "investigating"
    assert incident["restricted"] is False
    assert incident["components"] == ["score-recording", "database"]
    assert incident["impact"] == body["impact"]
    assert incident["declared_by"] == "admin@example.com"
    assert incident["policy_version"] == 1
    assert when(incident["detected_at"]) == START - timedelta(minutes=2)
    assert when(incident["declared_at"]) == START
    # SEV1: acknowledge within 5 minutes of detection.
    assert when(sla(incident, "acknowledge")["due_at"]) == START + timedelta(minutes=3)
    assert incident["checklists"], "seed 004 adds checklists to a SEV1"

    shown = await client.get(f"{API}/incidents/{incident['id'].lower()}")
    assert shown.status_code == 200
    assert shown.json()["id"] == incident["id"]
    second = await client.post(f"{API}/incidents", json={"title": "b", "severity": "SEV4"})
    assert second.json()["id"] == "INC-2026-01-15-002"


@pytest.mark.parametrize(
    ("field", "value", "location"),
    [
        ("severity", 5, "body.severity"),
        ("severity", "", "body.severity"),
        ("title", "   ", "body.title"),
        ("title", "x" * 301, "body.title"),
        ("components", "x", "body.components"),
        ("components", ["api", 2], "body.components.1"),
        ("impact", {"users_affected": -1}, "body.impact.users_affected"),
        ("impact", {"users_affected": "many"}, "body.impact.users_affected"),
        ("impact", {"users_affected": 1.5}, "body.impact.users_affected"),
        ("impact", {"users_affected": 2**31}, "body.impact.users_affected"),
        ("impact", {"users_affected_pct": 101}, "body.impact.users_affected_pct"),
        ("impact", {"blast_radius": "wide"}, "body.impact.blast_radius"),
        ("impact", "big", "body.impact"),
        ("detected_at", "yesterday", "body.detected_at"),
        ("detected_at", "2026-01-15T08:00:00", "body.detected_at"),
        ("detected_at", "0001-01-01T00:00:00+05:00", "body.detected_at"),
        ("unknown_key", 1, "body.unknown_key"),
    ],
)
async def test_declare_field_errors(
    client: httpx.AsyncClient, error: ErrorOf, field: str, value: Any, location: str
) -> None:
    body = {"title": "Broken", "severity": "SEV2", field: value}
    err = error(await client.post(f"{API}/incidents", json=body), 422, "invalid_input")
    assert [d["location"] for d in err["details"]] == [location], err
    assert location.removeprefix("body.") in err["message"]
    assert (await client.get(f"{API}/incidents")).json()["total"] == 0


async def test_declare_missing_fields(client: httpx.AsyncClient, error: ErrorOf) -> None:
    err = error(await client.post(f"{API}/incidents", json={}), 422, "invalid_input")
    assert {(d["location"], d["type"]) for d in err["details"]} == {
        ("body.title", "missing"),
        ("body.severity", "missing"),
    }
    assert "(and 1 more)" in err["message"]


async def test_unknown_severity_names_the_known_ones(
    client: httpx.AsyncClient, error: ErrorOf
) -> None:
    err = error(
        await client.post(f"{API}/incidents", json={"title": "x", "severity": "SEV9"}),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "severity", "value": "SEV9"}
    for known in ("SEV1", "SEV2", "SEV3", "SEV4"):
        assert known in err["message"]


async def test_unknown_type_component_and_role(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    base = {"title": "x", "severity": "SEV3"}
    err = error(
        await client.post(f"{API}/incidents", json={**base, "type": "alien-invasion"}),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "type", "value": "alien-invasion"}
    assert "security" in err["message"] and "outage" in err["message"]

    err = error(
        await client.post(f"{API}/incidents", json={**base, "components": ["api", "flux"]}),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "components", "unknown": ["flux"]}

    err = error(
        await client.post(f"{API}/incidents", json={**base, "escalation": "nowhere"}),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "escalation", "value": "nowhere"}
    assert (await client.get(f"{API}/incidents")).json()["total"] == 0

    incident = await declare()
    ref = incident["id"]
    err = error(
        await client.post(
            f"{API}/incidents/{ref}/roles", json={"role": "wizard", "email": "admin@example.com"}
        ),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "role", "value": "wizard"}
    assert "incident-commander" in err["message"]
    err = error(
        await client.patch(f"{API}/incidents/{ref}", json={"components": ["flux"]}),
        422,
        "invalid_input",
    )
    assert err["details"]["unknown"] == ["flux"]
    err = error(
        await client.post(f"{API}/incidents/{ref}/severity", json={"severity": "SEV0"}),
        422,
        "invalid_input",
    )
    assert "SEV1" in err["message"]
    err = error(
        await client.post(
            f"{API}/incidents/{ref}/roles", json={"role": "sysadmin", "email": "ghost@example.com"}
        ),
        404,
        "not_found",
    )
    assert err["details"] == {"email": "ghost@example.com"}
    # Nothing of that reached the incident.
    after = (await client.get(f"{API}/incidents/{ref}")).json()
    assert after["roles"] == [] and after["components"] == [] and after["severity"] == "SEV2"


async def test_detected_in_the_future(
    client: httpx.AsyncClient, seeded: Context, error: ErrorOf
) -> None:
    later = (START + timedelta(minutes=1)).isoformat()
    body = {"title": "x", "severity": "SEV2", "detected_at": later}
    err = error(await client.post(f"{API}/incidents", json=body), 422, "invalid_input")
    assert err["details"] == {"field": "detected_at"}


async def test_list_filters(client: httpx.AsyncClient, declare: Declare, seeded: Context) -> None:
    first = await declare("Checkout is slow", severity="SEV2")
    seeded.clock.advance(minutes=10)
    second = await declare("Login broken", severity="SEV1")
    assert (await status(client, second["id"], "resolved")).status_code == 200

    async def refs(**params: Any) -> tuple[list[str], int]:
        response = await client.get(f"{API}/incidents", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return [i["id"] for i in body["incidents"]], body["total"]

    assert await refs() == ([second["id"], first["id"]], 2)
    assert await refs(limit=1) == ([second["id"]], 2)
    assert await refs(limit=1, offset=1) == ([first["id"]], 2)
    assert await refs(open="true") == ([first["id"]], 1)
    assert await refs(status="resolved") == ([second["id"]], 1)
    assert await refs(severity=["SEV1", "SEV3"]) == ([second["id"]], 1)
    assert await refs(q="LOGIN") == ([second["id"]], 1)
    assert await refs(since="2026-01-15T09:05:00Z") == ([second["id"]], 1)
    assert await refs(until="2026-01-15T10:05:00+01:00") == ([first["id"]], 1)


async def test_search_text_is_not_a_pattern(client: httpx.AsyncClient, declare: Declare) -> None:
    """``%`` and ``_`` in ``q`` are plain characters, not SQL wildcards."""
    await declare("Error rate at 50% on checkout")
    await declare("Slow queries on user_profiles")
    await declare("Outage")

    async def titles(q: str) -> list[str]:
        response = await client.get(f"{API}/incidents", params={"q": q})
        assert response.status_code == 200, response.text
        return sorted(i["title"] for i in response.json()["incidents"])

    assert await titles("%") == ["Error rate at 50% on checkout"]
    assert await titles("50%") == ["Error rate at 50% on checkout"]
    assert await titles("_") == ["Slow queries on user_profiles"]
    assert await titles("r_p") == ["Slow queries on user_profiles"]
    assert await titles("e%o") == []
    assert await titles("\\") == []


# --- lifecycle ----------------------------------------------------------------------------


async def test_illegal_transitions(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    ref = (await declare())["id"]
    err = error(await client.post(f"{API}/incidents/{ref}/close"), 409, "invalid_transition")
    assert err["details"] == {
        "current": "investigating",
        "requested": "closed",
        "allowed": ["identified", "monitoring", "resolved"],
    }
    assert "investigating" in err["message"] and "closed" in err["message"]
    err = error(await status(client, ref, "investigating"), 409, "invalid_transition")
    assert err["details"]["current"] == err["details"]["requested"] == "investigating"

    assert (await status(client, ref, "resolved")).status_code == 200
    err = error(await status(client, ref, "identified"), 409, "invalid_transition")
    assert err["details"] == {
        "current": "resolved",
        "requested": "identified",
        "allowed": ["closed", "investigating"],
    }
    err = error(await status(client, ref, "monitoring"), 409, "invalid_transition")
    assert err["details"]["requested"] == "monitoring"

    err = error(await status(client, ref, "sleeping"), 422, "invalid_input")
    assert err["details"] == {"field": "status", "value": "sleeping"}
    shown = (await client.get(f"{API}/incidents/{ref}")).json()
    assert shown["status"] == "resolved"


async def test_closed_is_final(client: httpx.AsyncClient, declare: Declare, error: ErrorOf) -> None:
    ref = (await declare())["id"]
    assert (await client.post(f"{API}/incidents/{ref}/resolve")).status_code == 200
    closed = await client.post(f"{API}/incidents/{ref}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    for target in ("investigating", "identified", "monitoring", "resolved", "closed"):
        err = error(await status(client, ref, target), 409, "invalid_transition")
        assert err["details"] == {"current": "closed", "requested": target, "allowed": []}
        assert "final" in err["message"]
    for action in ("reopen", "resolve", "close"):
        err = error(await client.post(f"{API}/incidents/{ref}/{action}"), 409)
        assert err["code"] == "invalid_transition"
        assert err["details"]["current"] == "closed"
    timeline = (await client.get(f"{API}/incidents/{ref}/timeline")).json()
    assert [e["kind"] for e in timeline].count("status") == 2


async def test_walk_reopen_and_close(
    client: httpx.AsyncClient, declare: Declare, seeded: Context
) -> None:
    ref = (await declare(severity="SEV1"))["id"]
    seeded.clock.advance(minutes=2)
    identified = await status(client, ref, "identified", note="bad deploy")
    assert identified.status_code == 200, identified.text
    body = identified.json()
    assert body["status"] == "identified"
    # Moving on implies the acknowledgement.
    assert when(body["acknowledged_at"]) == START + timedelta(minutes=2)
    assert body["acknowledged_by"] == "admin@example.com"
    assert sla(body, "acknowledge")["verdict"] == "met"

    seeded.clock.advance(minutes=5)
    resolved = (await client.post(f"{API}/incidents/{ref}/resolve")).json()
    assert resolved["status"] == "resolved"
    assert when(resolved["mitigated_at"]) == when(resolved["resolved_at"])

    seeded.clock.advance(minutes=5)
    reopened = await client.post(f"{API}/incidents/{ref}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "investigating"
    assert reopened.json()["resolved_at"] is None
    assert reopened.json()["mitigated_at"] is None
    assert reopened.json()["acknowledged_at"] == body["acknowledged_at"]

    seeded.clock.advance(minutes=5)
    assert (await status(client, ref, "resolved")).status_code == 200
    seeded.clock.advance(minutes=5)
    closed = (await client.post(f"{API}/incidents/{ref}/close")).json()
    assert closed["status"] == "closed"
    assert when(closed["closed_at"]) == START + timedelta(minutes=22)

    kinds = [e["kind"] for e in (await client.get(f"{API}/incidents/{ref}/timeline")).json()]
    assert kinds[0] == "declared"
    assert kinds.count("reopened") == 1
    assert "acknowledged" in kinds
    summaries = [e["summary"] for e in (await client.get(f"{API}/incidents/{ref}/timeline")).json()]
    assert any("bad deploy" in s for s in summaries)
    markdown = await client.get(f"{API}/incidents/{ref}/timeline.md")
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith(f"# {ref}: ")
    assert "Reopened" in markdown.text


async def test_acknowledge_twice_keeps_the_first(
    client: httpx.AsyncClient, declare: Declare, seeded: Context
) -> None:
    ref = (await declare())["id"]
    first = (await client.post(f"{API}/incidents/{ref}/acknowledge")).json()
    seeded.clock.advance(minutes=3)
    again = await client.post(f"{API}/incidents/{ref}/acknowledge")
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == first["acknowledged_at"] is not None


async def test_acknowledge_records_the_door_on_the_timeline(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    ref = (await declare())["id"]
    # Only the API and the CLI may be named: the link and SMS replies have their own doors.
    error(await client.post(f"{API}/incidents/{ref}/acknowledge", json={"via": "link"}), 422)
    assert (await client.post(f"{API}/incidents/{ref}/acknowledge")).status_code == 200
    events = (await client.get(f"{API}/incidents/{ref}/timeline")).json()
    [ack] = [e for e in events if e["kind"] == "acknowledged"]
    assert ack["summary"].endswith(" via api")
    assert ack["data"]["after"]["via"] == "api"


# --- permissions --------------------------------------------------------------------------


async def test_communications_coordinator_cannot_acknowledge(
    client_for: ClientFor, declare: Declare, error: ErrorOf
) -> None:
    ref = (await declare())["id"]
    comms = await client_for("coordinator@example.org", roles=("communications-coordinator",))
    err = error(await comms.post(f"{API}/incidents/{ref}/acknowledge"), 403, "permission_denied")
    assert err["details"]["permission"] == "acknowledge"
    assert set(err["details"]["granted_by_roles"]) == {
        "on-call-engineer",
        "incident-commander",
        "sysadmin",
    }
    assert "coordinator@example.org" in err["message"]
    err = error(await status(comms, ref, "identified"), 403, "permission_denied")
    assert err["details"]["permission"] == "update-status"
    # What the coordinator does hold: check items.
    item = (await comms.get(f"{API}/incidents/{ref}")).json()["checklists"][0]["id"]
    checked = await comms.post(f"{API}/incidents/{ref}/checklists/{item}", json={"checked": True})
    assert checked.status_code == 200, checked.text
    assert checked.json()["checked_by"] == "coordinator@example.org"


async def test_plain_user_declares_and_notes_but_cannot_move(
    client: httpx.AsyncClient, client_for: ClientFor, declare: Declare, error: ErrorOf
) -> None:
    plain = await client_for("plain@example.com")
    incident = await declare("Reports are empty", by=plain)
    ref = incident["id"]
    assert incident["declared_by"] == "plain@example.com"
    note = await plain.post(f"{API}/incidents/{ref}/notes", json={"text": "  seen at 9:01 "})
    assert note.status_code == 201, note.text
    assert note.json()["kind"] == "note"
    assert note.json()["summary"] == "seen at 9:01"
    assert note.json()["actor"] == "plain@example.com"
    denied: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("POST", "/acknowledge", None, "acknowledge"),
        ("POST", "/status", {"status": "identified"}, "update-status"),
        ("POST", "/resolve", None, "update-status"),
        ("POST", "/severity", {"severity": "SEV1"}, "change-severity"),
        ("PATCH", "", {"title": "renamed"}, "edit-incident"),
        ("POST", "/roles", {"role": "sysadmin", "email": "plain@example.com"}, "assign-roles"),
        ("POST", "/participants", {"email": "admin@example.com"}, "assign-roles"),
    ]
    for method, suffix, body, permission in denied:
        response = await plain.request(method, f"{API}/incidents/{ref}{suffix}", json=body)
        err = error(response, 403, "permission_denied")
        assert err["details"]["permission"] == permission, (suffix, err)
    after = (await client.get(f"{API}/incidents/{ref}")).json()
    assert after["status"] == "investigating" and after["acknowledged_at"] is None
    assert after["title"] == "Reports are empty" and after["severity"] == "SEV2"


async def test_admin_only_endpoints(client_for: ClientFor, error: ErrorOf) -> None:
    plain = await client_for("plain@example.com", roles=("sysadmin",))
    err = error(
        await plain.post(f"{API}/users", json={"email": "new@example.com"}),
        403,
        "permission_denied",
    )
    assert err["details"]["permission"] == "admin"
    err = error(
        await plain.post(f"{API}/policy", json={"content": "tocsin: 1"}), 403, "permission_denied"
    )
    assert err["details"]["permission"] == "admin"
    err = error(
        await plain.post(f"{API}/tokens", json={"email": "admin@example.com"}),
        403,
        "permission_denied",
    )
    assert err["details"]["permission"] == "admin"


async def test_on_call_engineer_acknowledges(client_for: ClientFor, declare: Declare) -> None:
    ref = (await declare())["id"]
    oncall = await client_for("oncall@example.com", roles=("on-call-engineer",))
    response = await oncall.post(f"{API}/incidents/{ref}/acknowledge")
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged_by"] == "oncall@example.com"
    assert (await status(oncall, ref, "monitoring")).json()["status"] == "monitoring"


async def test_incident_role_grants_permissions_on_that_incident(
    client: httpx.AsyncClient, client_for: ClientFor, declare: Declare, error: ErrorOf
) -> None:
    mine = (await declare("Payments failing", severity="SEV1"))["id"]
    other = (await declare("Search slow", severity="SEV3"))["id"]
    user = await client_for("lead@example.com")
    error(await user.post(f"{API}/incidents/{mine}/acknowledge"), 403, "permission_denied")

    assigned = await client.post(
        f"{API}/incidents/{mine}/roles",
        json={"role": "incident-commander", "email": "lead@example.com"},
    )
    assert assigned.status_code == 200, assigned.text
    assert [(r["role"], r["email"]) for r in assigned.json()["roles"]] == [
        ("incident-commander", "lead@example.com")
    ]
    acked = await user.post(f"{API}/incidents/{mine}/acknowledge")
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "lead@example.com"
    assert (await status(user, mine, "identified")).status_code == 200
    # The commander's assign-roles permission counts on this incident too.
    await client_for("helper@example.com")
    staffed = await user.post(
        f"{API}/incidents/{mine}/roles",
        json={"role": "engineering-support", "email": "helper@example.com"},
    )
    assert staffed.status_code == 200, staffed.text

    # ...but not on another incident.
    err = error(await user.post(f"{API}/incidents/{other}/acknowledge"), 403, "permission_denied")
    assert err["details"]["permission"] == "acknowledge"

    # Relieved of the role, the permissions go with it.
    relieved = await client.post(
        f"{API}/incidents/{mine}/roles/relieve", json={"role": "incident-commander"}
    )
    assert relieved.status_code == 200, relieved.text
    assert all(r["role"] != "incident-commander" for r in relieved.json()["roles"])
    err = error(await status(user, mine, "monitoring"), 403, "permission_denied")
    assert err["details"]["permission"] == "update-status"


async def test_relieve_nobody(client: httpx.AsyncClient, declare: Declare, error: ErrorOf) -> None:
    ref = (await declare())["id"]
    err = error(
        await client.post(f"{API}/incidents/{ref}/roles/relieve", json={"role": "sysadmin"}),
        404,
        "not_found",
    )
    assert err["details"] == {"role": "sysadmin"}


async def test_checklist_item_of_another_incident(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    first = await declare(severity="SEV1")
    second = await declare(severity="SEV1")
    item = first["checklists"][0]["id"]
    err = error(
        await client.post(f"{API}/incidents/{second['id']}/checklists/{item}", json={}),
        404,
        "not_found",
    )
    assert err["details"] == {"item": item}
    done = await client.post(f"{API}/incidents/{first['id']}/checklists/{item}", json={})
    assert done.status_code == 200 and done.json()["checked_at"] is not None
    undone = await client.post(
        f"{API}/incidents/{first['id']}/checklists/{item}", json={"checked": False}
    )
    assert undone.json()["checked_at"] is None and undone.json()["checked_by"] is None
