"""The status page's own API (``/api/v1/statuspage``) and ``tocsin statuspage ...``: the
doors to the same services, with Tocsin's error shape, OpenAPI for the API and not for
the public doors, and ``--as`` a person without ``update-status-page`` refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from tests.cli.conftest import cli, cli_db, cli_json  # noqa: F401 (fixtures)
from tests.conftest import SEED_004, START, add_user, token_for

from tocsin.context import Context

Run = Callable[..., Any]


async def test_api_errors_permissions_and_openapi(
    seeded: Context, client: httpx.AsyncClient
) -> None:
    anonymous = await client.get("/api/v1/statuspage/components", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    await add_user(seeded, "sp-engineer@example.com", roles=("on-call-engineer",))
    token = await token_for(seeded, "sp-engineer@example.com")
    refused = await client.post(
        "/api/v1/statuspage/incidents",
        json={"name": "x", "body": "y"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["permission"] == "update-status-page"
    # Reading is for anyone signed in.
    readable = await client.get(
        "/api/v1/statuspage/components", headers={"Authorization": f"Bearer {token}"}
    )
    assert readable.status_code == 200 and len(readable.json()) > 10

    bad_status = await client.post(
        "/api/v1/statuspage/incidents",
        json={"name": "x", "body": "y", "components": {"api": "broken"}},
    )
    assert bad_status.status_code == 422
    assert "components.api" in bad_status.json()["error"]["message"]
    unknown = await client.post(
        "/api/v1/statuspage/incidents",
        json={"name": "x", "body": "y", "components": {"no-such": "major_outage"}},
    )
    assert unknown.status_code == 404
    assert "score-recording" in unknown.json()["error"]["message"]  # lists the known
    missing = await client.get("/api/v1/statuspage/incidents/abcdefabcdef")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    backwards = await client.post(
        "/api/v1/statuspage/maintenances",
        json={
            "name": "m",
            "body": "b",
            "scheduled_for": "2026-01-16T10:00:00Z",
            "scheduled_until": "2026-01-16T09:00:00Z",
        },
    )
    assert backwards.status_code == 422
    naive = await client.post(
        "/api/v1/statuspage/maintenances",
        json={
            "name": "m",
            "body": "b",
            "scheduled_for": "2026-01-16T10:00:00",
            "scheduled_until": "2026-01-16T11:00:00Z",
        },
    )
    assert naive.status_code == 422 and "time zone" in naive.text

    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/statuspage/incidents/{public_id}/updates" in paths
    assert not [p for p in paths if p.startswith(("/api/v2", "/statuspage/"))]


def test_the_cli_publishes_and_reads(cli: Run, cli_json: Run) -> None:  # noqa: F811
    cli("policy", "apply", str(SEED_004))
    components = cli_json("statuspage", "component", "list")
    assert {
        "key": "score-recording",
        "status": "operational",
        "group": "group-learning",
    }.items() <= next(c for c in components if c["key"] == "score-recording").items()
    incident = cli_json(
        "incident", "declare", "Scores are lost", "--severity", "SEV1", "-c", "score-recording"
    )
    draft = cli_json(
        "statuspage", "incident", "draft", incident["id"], "--set", "customer_impact=Scores fail"
    )
    assert draft["components"] == {"score-recording": "partial_outage"}
    # Seed 004's own "Status Page Template - Investigating", with the field given.
    assert "We are currently investigating an issue where Scores fail" in draft["body"]

    published = cli_json(
        "statuspage",
        "incident",
        "publish",
        "--name",
        "Scores are not saved",
        "--body",
        draft["body"],
        "--component",
        "score-recording=major_outage",
        "--incident",
        incident["id"],
    )
    assert (published["status"], published["impact"]) == ("investigating", "critical")
    shown = cli("statuspage", "incident", "show", published["id"]).stdout
    assert "score-recording operational→major_outage" in shown
    assert incident["id"] in shown  # publishers see the internal link
    opened = cli("statuspage", "incident", "list", "--open").stdout
    assert published["id"] in opened
    resolved = cli_json(
        "statuspage",
        "incident",
        "update",
        published["id"],
        "--status",
        "resolved",
        "--body",
        "Scores save again.",
    )
    assert resolved["status"] == "resolved"
    assert cli_json("statuspage", "incident", "list", "--open") == []
    history = cli_json("statuspage", "component", "history", "score-recording")
    assert [h["new_status"] for h in history] == ["operational", "major_outage", "operational"]

    start = START + timedelta(days=400)  # the CLI's clock is the system's: far ahead
    scheduled = cli_json(
        "statuspage",
        "maintenance",
        "schedule",
        "--name",
        "Database upgrade",
        "--body",
        "Slow saves.",
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(hours=1)).isoformat(),
        "-c",
        "database",
    )
    moved = cli_json("statuspage", "maintenance", "move", scheduled["id"], "in_progress")
    assert moved["status"] == "in_progress"
    assert (
        next(c for c in cli_json("statuspage", "component", "list") if c["key"] == "database")[
            "status"
        ]
        == "under_maintenance"
    )
    set_by_hand = cli("statuspage", "component", "status", "search", "degraded_performance")
    assert "search is degraded_performance" in set_by_hand.stdout
    by_hand = cli_json("statuspage", "component", "status", "search", "partial_outage")
    assert (by_hand["status"], by_hand["group"]) == ("partial_outage", "group-learning")
    assert cli_json("statuspage", "subscriber", "list") == []

    refused = cli(
        "statuspage",
        "component",
        "status",
        "search",
        "operational",
        as_user="nobody-here@example.com",
        code=1,
    )
    assert "nobody-here@example.com" in refused.stderr
    bad = cli(
        "statuspage",
        "incident",
        "publish",
        "--name",
        "x",
        "--body",
        "y",
        "--component",
        "api",
        code=2,
    )
    assert "KEY=VALUE" in bad.output
