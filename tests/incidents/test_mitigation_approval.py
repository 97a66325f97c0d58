"""Approving a proposed mitigation (seed 004: "Incident Commander approval obtained"): a
``mitigation_approved`` event naming the proposal, by one with ``approve-rollback`` only,
once per proposal, on an open incident. Through HTTP under seed 004, both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.conftest import token_for

from tocsin.app import create_app
from tocsin.context import Context

API = "/api/v1"
#: Seed 004's on-call engineer: may propose (add-note), not approve (no approve-rollback).
ONCALL = "oncall.primary@example.com"


@pytest.fixture
async def oncall(seeded: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(seeded.settings, clock=seeded.clock, database=seeded.db)
    token = await token_for(seeded, ONCALL)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield http


async def test_the_commander_approves_a_proposal_once(
    client: httpx.AsyncClient, oncall: httpx.AsyncClient
) -> None:
    answer = await oncall.post(
        f"{API}/incidents", json={"title": "Scores are not saving", "severity": "SEV2"}
    )
    ref = answer.json()["id"]
    proposed = await oncall.post(
        f"{API}/incidents/{ref}/mitigations", json={"action": "Roll back to v1.2.3", "risk": "Low"}
    )
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()["id"]
    approve = f"{API}/incidents/{ref}/mitigations/{proposal}/approve"

    # The on-call engineer lacks approve-rollback: refused, nothing written.
    refused = await oncall.post(approve)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["permission"] == "approve-rollback"
    assert "incident-commander" in refused.json()["error"]["details"]["granted_by_roles"]
    kinds = [e["kind"] for e in (await oncall.get(f"{API}/incidents/{ref}/timeline")).json()]
    assert "mitigation_approved" not in kinds

    # Made commander of the incident, they may.
    assigned = await client.post(
        f"{API}/incidents/{ref}/roles", json={"role": "incident-commander", "email": ONCALL}
    )
    assert assigned.is_success, assigned.text
    approved = await oncall.post(approve)
    assert approved.status_code == 201, approved.text
    event = approved.json()
    assert event["kind"] == "mitigation_approved"
    assert event["actor"] == ONCALL
    assert event["summary"] == "Mitigation approved: Roll back to v1.2.3"
    assert event["data"]["after"] == {"proposal": proposal, "action": "Roll back to v1.2.3"}

    again = await oncall.post(approve)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "mitigation_approved"
    # Not a proposal (the declaration's event) and an unknown id: 404.
    first = (await oncall.get(f"{API}/incidents/{ref}/timeline")).json()[0]["id"]
    for wrong in (first, 999999):
        missing = await oncall.post(f"{API}/incidents/{ref}/mitigations/{wrong}/approve")
        assert missing.status_code == 404, missing.text

    # A resolved incident has nothing left to approve.
    second = await oncall.post(
        f"{API}/incidents/{ref}/mitigations", json={"action": "Scale the queue workers"}
    )
    assert (await client.post(f"{API}/incidents/{ref}/resolve")).is_success
    late = await oncall.post(f"{API}/incidents/{ref}/mitigations/{second.json()['id']}/approve")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "incident_not_open"
