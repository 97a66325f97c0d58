"""Proposing a mitigation (seed 004's "Mitigation Approval and Documentation"): a timeline
event, and the comms routes ``on: mitigation_proposed`` send the ``mitigation-proposed``
message. Through HTTP under seed 004's own policy, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from tests.conftest import token_for

from tocsin.app import create_app
from tocsin.context import Context
from tocsin.notify.models import Notification

API = "/api/v1"
#: Seed 004's on-call engineer (the matrix: may acknowledge, not send messages by hand).
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


async def declare(http: httpx.AsyncClient, severity: str) -> str:
    answer = await http.post(
        f"{API}/incidents", json={"title": "Scores are not saving", "severity": severity}
    )
    assert answer.status_code == 201, answer.text
    ref: str = answer.json()["id"]
    return ref


async def slack_messages(ctx: Context) -> list[Notification]:
    """The messages of the ``mitigation-proposed`` template, in the order queued."""
    async with ctx.db.read() as session:
        rows = await session.scalars(select(Notification).order_by(Notification.id))
        return [r for r in rows if r.payload["data"].get("template") == "mitigation-proposed"]


PROPOSAL = {
    "action": "Rollback to v1.2.3",
    "risk": "low",
    "expected_impact": "Restore score recording",
    "rollback_plan": "If this fails, we will redeploy v1.2.4",
}


async def test_a_proposal_sends_the_mitigation_proposed_message(
    seeded: Context, oncall: httpx.AsyncClient
) -> None:
    ref = await declare(oncall, "SEV1")
    answer = await oncall.post(f"{API}/incidents/{ref}/mitigations", json=PROPOSAL)
    assert answer.status_code == 201, answer.text
    event = answer.json()
    assert event["kind"] == "mitigation_proposed"
    assert event["actor"] == ONCALL
    assert event["summary"] == "Mitigation proposed: Rollback to v1.2.3 (risk Low)"
    assert event["data"]["after"] == {**PROPOSAL, "risk": "Low"}

    # Seed 004: #incidents, and a Sev1's own #incidents-critical, in the seed's words.
    messages = await slack_messages(seeded)
    assert [m.recipient for m in messages] == ["#incidents", "#incidents-critical"]
    for message in messages:
        assert message.subject == "🔧 MITIGATION PROPOSED"
        assert message.body_text == (
            f"Incident ID: {ref}\n"
            "Proposed Action: Rollback to v1.2.3\n"
            "Risk Level: Low\n"
            "Expected Impact: Restore score recording\n"
            "Rollback Plan: If this fails, we will redeploy v1.2.4\n"
            "Approval: Awaiting Incident Commander approval\n"
        )
    timeline = (await oncall.get(f"{API}/incidents/{ref}/timeline")).json()
    fired = [e["data"]["after"] for e in timeline if e["kind"] == "comms"]
    proposed = [f for f in fired if f["trigger"] == "mitigation_proposed"]
    assert [(f["route"], f["reason"], f["event"]) for f in proposed] == [
        ("incidents-mitigation-proposed", "mitigation proposed", event["id"]),
        ("critical-mitigation-proposed", "mitigation proposed", event["id"]),
    ]

    # Each proposal is a message of its own: the approved one says so.
    second = {"action": "Enable the score-queue feature flag", "approval": "Approved by Tech Lead"}
    assert (await oncall.post(f"{API}/incidents/{ref}/mitigations", json=second)).is_success
    messages = await slack_messages(seeded)
    assert len(messages) == 4
    assert "Approval: Approved by Tech Lead\n" in messages[-1].body_text
    assert "Risk Level: [not known yet: risk]\n" in messages[-1].body_text


async def test_a_sev3_proposal_goes_to_incidents_only_and_a_resolved_incident_takes_none(
    seeded: Context, oncall: httpx.AsyncClient
) -> None:
    ref = await declare(oncall, "SEV3")
    assert (await oncall.post(f"{API}/incidents/{ref}/mitigations", json=PROPOSAL)).is_success
    assert [m.recipient for m in await slack_messages(seeded)] == ["#incidents"]

    assert (await oncall.post(f"{API}/incidents/{ref}/resolve")).is_success
    late = await oncall.post(f"{API}/incidents/{ref}/mitigations", json=PROPOSAL)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "incident_not_open"
    bad = await oncall.post(
        f"{API}/incidents/{ref}/mitigations", json={"action": " ", "risk": "Huge"}
    )
    assert bad.status_code == 422
    assert len(await slack_messages(seeded)) == 1
