"""Teams come from the policy and from the API."""

from __future__ import annotations

import httpx

from tocsin.context import Context


async def test_policy_teams_and_members_are_synced(client: httpx.AsyncClient) -> None:
    teams = {t["key"]: t for t in (await client.get("/api/v1/teams")).json()}
    assert {"engineering", "product", "executive"} <= set(teams)
    assert "tech.lead@example.com" in teams["engineering"]["members"]


async def test_admin_sets_a_team_through_the_api(
    client: httpx.AsyncClient, seeded: Context
) -> None:
    body = {
        "key": "platform",
        "name": "Platform",
        "members": ["CTO@example.com", "tech.lead@example.com"],
    }
    answer = await client.put("/api/v1/teams", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["members"] == ["cto@example.com", "tech.lead@example.com"]
    teams = {t["key"]: t for t in (await client.get("/api/v1/teams")).json()}
    assert teams["platform"]["members"] == ["cto@example.com", "tech.lead@example.com"]
    audit = (await client.get("/api/v1/audit", params={"action": "team.save"})).json()
    assert audit[0]["object_id"] == "platform" and audit[0]["after"]["name"] == "Platform"


async def test_unknown_member_is_a_clear_404(client: httpx.AsyncClient) -> None:
    answer = await client.put(
        "/api/v1/teams", json={"key": "x", "name": "X", "members": ["nobody@example.com"]}
    )
    assert answer.status_code == 404
    assert "nobody@example.com" in answer.json()["error"]["message"]
