"""The audit log over HTTP: every write leaves an entry naming who did what, with the state
before and after; only admins may read it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"
SEED_004 = Path(__file__).resolve().parents[2] / "examples/policies/seed-004-incident-response.yaml"
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]
Declare = Callable[..., Any]


async def audit(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/audit", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def only(rows: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [r for r in rows if r["action"] == action]
    assert len(found) == 1, (action, [r["action"] for r in rows])
    return found[0]


async def test_writes_are_audited(
    client: httpx.AsyncClient, client_for: ClientFor, declare: Declare
) -> None:
    before = await audit(client)
    incident = await declare("Login broken", severity="SEV1", components=["authentication"])
    ref = incident["id"]
    assert (await client.post(f"{API}/incidents/{ref}/acknowledge")).status_code == 200
    moved = await client.post(f"{API}/incidents/{ref}/status", json={"status": "identified"})
    assert moved.status_code == 200
    added = await client.post(f"{API}/users", json={"email": "audited@example.org"})
    assert added.status_code == 201
    token = (await client.post(f"{API}/tokens", json={"name": "audit-me"})).json()
    assert (await client.delete(f"{API}/tokens/{token['id']}")).status_code == 200
    content = SEED_004.read_text(encoding="utf-8") + "\n# v2\n"
    applied = await client.post(f"{API}/policy", json={"content": content, "source": "v2.yaml"})
    assert applied.status_code == 200, applied.text

    rows = await audit(client)
    new = rows[: len(rows) - len(before)]
    assert all(r["actor"] == "admin@example.com" for r in new)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)

    declared = only(new, "incident.declared")
    assert (declared["object_type"], declared["object_id"]) == ("incident", ref)
    assert declared["before"] is None
    assert declared["after"]["title"] == "Login broken"
    assert declared["after"]["severity"] == "SEV1"
    assert declared["after"]["components"] == ["authentication"]
    assert declared["after"]["policy_version"] == 1

    acked = only(new, "incident.acknowledged")
    assert acked["object_id"] == ref and acked["after"]["acknowledged_at"]

    status = only(new, "incident.status")
    assert status["before"] == {"status": "investigating"}
    assert status["after"] == {"status": "identified"}

    user = only(new, "user.create")
    assert (user["object_type"], user["object_id"]) == ("user", "audited@example.org")
    assert user["after"]["roles"] == [] and user["after"]["is_admin"] is False

    created = only(new, "token.create")
    assert (created["object_type"], created["object_id"]) == ("token", str(token["id"]))
    assert created["after"] == {
        "user": "admin@example.com",
        "name": "audit-me",
        "prefix": token["prefix"],
    }
    assert token["token"] not in str(rows)
    revoked = only(new, "token.revoke")
    assert revoked["object_id"] == str(token["id"])

    policy = only(new, "policy.apply")
    assert (policy["object_type"], policy["object_id"]) == ("policy", "2")
    assert policy["before"]["version"] == 1
    assert policy["after"]["version"] == 2 and policy["after"]["source"] == "v2.yaml"

    # Filters.
    assert [r["action"] for r in await audit(client, object_id=ref)] == [
        "incident.status",
        "incident.acknowledged",
        "incident.declared",
    ]
    assert {r["action"] for r in await audit(client, object_type="token")} == {
        "token.create",
        "token.revoke",
    } | {r["action"] for r in before if r["object_type"] == "token"}
    assert [r["id"] for r in await audit(client, action="policy.apply", limit=1)] == [policy["id"]]
    assert len(await audit(client, limit=2)) == 2
    assert await audit(client, since="2030-01-01T00:00:00Z") == []


async def test_a_non_admin_write_names_its_actor(
    client: httpx.AsyncClient, client_for: ClientFor, declare: Declare
) -> None:
    plain = await client_for("plain@example.org")
    incident = await declare("Typo on the pricing page", severity="SEV4", by=plain)
    note = await plain.post(f"{API}/incidents/{incident['id']}/notes", json={"text": "fixed?"})
    assert note.status_code == 201
    rows = await audit(client, object_id=incident["id"])
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("incident.note", "plain@example.org"),
        ("incident.declared", "plain@example.org"),
    ]
    assert rows[0]["after"] == {"text": "fixed?"}


async def test_refused_writes_leave_no_entry(
    client: httpx.AsyncClient, client_for: ClientFor, declare: Declare, error: ErrorOf
) -> None:
    ref = (await declare())["id"]
    plain = await client_for("plain@example.org")
    before = await audit(client)
    error(await plain.post(f"{API}/incidents/{ref}/acknowledge"), 403)
    error(await client.post(f"{API}/incidents/{ref}/close"), 409)
    error(await client.post(f"{API}/incidents", json={"title": "x", "severity": "SEV0"}), 422)
    error(await client.post(f"{API}/policy", json={"content": "tocsin: 1\nbogus: 2\n"}), 422)
    assert await audit(client) == before


async def test_only_admins_read_the_audit_log(client_for: ClientFor, error: ErrorOf) -> None:
    # sysadmin is a role with every incident permission, not an admin.
    for roles in ((), ("sysadmin",)):
        http = await client_for(f"reader{len(roles)}@example.org", roles=roles)
        err = error(await http.get(f"{API}/audit"), 403, "permission_denied")
        assert err["details"] == {"permission": "admin"}


async def test_audit_query_errors(client: httpx.AsyncClient, error: ErrorOf) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"since": "soon"}):
        err = error(await client.get(f"{API}/audit", params=params), 422, "invalid_input")
        assert err["details"][0]["location"] == f"query.{next(iter(params))}"
    # A time without a zone is ambiguous: refused, not guessed.
    err = error(
        await client.get(f"{API}/audit", params={"since": "2026-01-15T09:00:00"}),
        422,
        "invalid_input",
    )
    assert err["details"][0]["location"] == "query.since"
