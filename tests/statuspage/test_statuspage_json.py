"""The Statuspage-compatible JSON: every ``/api/v2`` document, served by the live app,
validates against the schemas of Statuspage's documented shapes at every step of a full
incident life and a maintenance, and a status aggregator reading ``summary.json`` (the
way aggregators and widgets do) sees the right indicator, component statuses and
unresolved incidents at each step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from tests.conftest import add_user, token_for
from tests.statuspage.statuspage_schemas import DOCUMENTS

from tocsin.app import create_app
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.statuspage import public

TIME_KEYS = ("_at", "scheduled_for", "scheduled_until")


@pytest.fixture
async def http(seeded: Context) -> AsyncIterator[httpx.AsyncClient]:
    """The live app, asking for the page's version on every request."""
    settings = seeded.settings.model_copy(update={"statuspage_recheck_seconds": 0.0})
    app = create_app(settings, clock=seeded.clock, database=seeded.db)
    await add_user(seeded, "sp-admin@example.com", admin=True)
    token = await token_for(seeded, "sp-admin@example.com")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def times_are_zoned(value: Any, where: str = "") -> None:
    """Every time is ISO 8601 with its offset (what Statuspage writes)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key.endswith(TIME_KEYS):
                parsed = datetime.fromisoformat(item)
                assert parsed.tzinfo is not None, f"{where}.{key}: {item}"
            times_are_zoned(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            times_are_zoned(item, f"{where}[{index}]")


async def documents(http: httpx.AsyncClient) -> dict[str, Any]:
    """Every document as the live app serves it, checked against its schema."""
    out = {}
    for name, schema in DOCUMENTS.items():
        answer = await http.get(f"/api/v2/{name}")
        assert answer.status_code == 200, (name, answer.text)
        assert answer.headers["content-type"].startswith("application/json")
        document = answer.json()
        errors = sorted(Draft202012Validator(schema).iter_errors(document), key=str)
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
        times_are_zoned(document, name)
        out[name] = document
    return out


def aggregator(summary: dict[str, Any]) -> tuple[str, dict[str, str], list[str]]:
    """What a status aggregator takes from ``summary.json``: the indicator, each
    component's status by name (groups left out), the unresolved incidents."""
    return (
        summary["status"]["indicator"],
        {c["name"]: c["status"] for c in summary["components"] if not c["group"]},
        [i["name"] for i in summary["incidents"]],
    )


async def step(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await http.post(f"/api/v1/statuspage/{path}", json=body)
    assert answer.status_code in (200, 201), answer.text
    document: dict[str, Any] = answer.json()
    return document


async def test_an_aggregator_follows_a_full_incident_life(
    seeded: Context, http: httpx.AsyncClient
) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    first = await documents(http)
    indicator, components, open_ = aggregator(first["summary.json"])
    assert (indicator, open_) == ("none", [])
    assert set(components.values()) == {"operational"}
    assert components["Score Recording"] == "operational"
    groups = {c["id"]: c for c in first["components.json"]["components"] if c["group"]}
    assert "score-recording" in groups["group-learning"]["components"]
    assert first["status.json"]["status"]["description"] == "All Systems Operational"

    name = "Scores are not being saved"
    created = await step(
        http,
        "incidents",
        {
            "name": name,
            "body": "We are investigating reports that scores are not saved.",
            "components": {"score-recording": "major_outage", "api": "degraded_performance"},
        },
    )
    public_id = created["id"]
    life = [
        ("investigating", None, "major_outage"),
        ("identified", {"score-recording": "partial_outage"}, "partial_outage"),
        ("monitoring", {"score-recording": "operational", "api": "operational"}, "operational"),
        ("resolved", {}, "operational"),
    ]
    for status, changes, score_status in life:
        if changes is not None:
            clock.advance(minutes=15)
            await step(
                http,
                f"incidents/{public_id}/updates",
                {"status": status, "body": f"Update: {status}.", "components": changes},
            )
        docs = await documents(http)
        indicator, components, open_ = aggregator(docs["summary.json"])
        assert components["Score Recording"] == score_status, status
        if status == "resolved":
            assert (indicator, open_) == ("none", [])
            assert docs["incidents/unresolved.json"]["incidents"] == []
        else:
            # An unresolved incident keeps its impact on the indicator.
            assert indicator == "critical", status
            assert open_ == [name]
            unresolved = docs["incidents/unresolved.json"]["incidents"]
            assert [(i["id"], i["status"]) for i in unresolved] == [(public_id, status)]
        listed = docs["incidents.json"]["incidents"][0]
        assert (listed["id"], listed["status"], listed["impact"]) == (public_id, status, "critical")
        assert listed["incident_updates"][0]["status"] == status
        assert docs["status.json"]["status"] == docs["summary.json"]["status"]

    resolved = (await documents(http))["incidents.json"]["incidents"][0]
    assert resolved["resolved_at"] is not None and resolved["monitoring_at"] is not None
    first_update = resolved["incident_updates"][-1]
    assert {
        (a["code"], a["old_status"], a["new_status"]) for a in first_update["affected_components"]
    } == {
        ("score-recording", "operational", "major_outage"),
        ("api", "operational", "degraded_performance"),
    }

    # A degraded component alone (no incident): minor.
    answer = await http.put(
        "/api/v1/statuspage/components/search/status", json={"status": "degraded_performance"}
    )
    assert answer.status_code == 200, answer.text
    indicator, components, _ = aggregator((await documents(http))["summary.json"])
    assert (indicator, components["Search"]) == ("minor", "degraded_performance")


async def test_maintenance_in_the_json(seeded: Context, http: httpx.AsyncClient) -> None:
    clock = seeded.clock
    start = clock.now() + timedelta(hours=1)
    created = await step(
        http,
        "maintenances",
        {
            "name": "Database upgrade",
            "body": "Scores may save slowly.",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
            "components": ["database"],
        },
    )
    docs = await documents(http)
    upcoming = docs["scheduled-maintenances/upcoming.json"]["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == [created["id"]]
    assert upcoming[0]["impact"] == "maintenance"
    assert docs["summary.json"]["scheduled_maintenances"] == upcoming
    assert docs["scheduled-maintenances/active.json"]["scheduled_maintenances"] == []
    await step(http, f"maintenances/{created['id']}/status", {"status": "in_progress"})
    docs = await documents(http)
    indicator, components, _ = aggregator(docs["summary.json"])
    assert (indicator, components["Database"]) == ("maintenance", "under_maintenance")
    active = docs["scheduled-maintenances/active.json"]["scheduled_maintenances"]
    assert [m["status"] for m in active] == ["in_progress"]


async def test_the_live_json_is_the_view_json(seeded: Context, http: httpx.AsyncClient) -> None:
    """The doors serve exactly what ``public.DOCUMENTS`` builds (what the export writes)."""
    await step(
        http,
        "incidents",
        {
            "name": "Slow",
            "body": "Pages are slow.",
            "components": {"web-ui": "degraded_performance"},
        },
    )
    served = await documents(http)
    async with seeded.db.read() as session:
        view = await public.public_view(session, clock=seeded.clock)
    for name, build in public.DOCUMENTS.items():
        assert served[name] == build(view), name
