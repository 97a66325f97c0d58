"""``tocsin integration add|list|rotate-key`` and ``tocsin alerts list|show`` (Typer's runner,
straight on the test database, as the built-in system admin)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from tests.alerts.conftest import apply_policy_text, drain, trigger
from tests.alerts.live import clear
from typer.testing import CliRunner, Result

from tocsin.app import create_app
from tocsin.cli.main import app as cli_app
from tocsin.clock import SystemClock
from tocsin.context import Context
from tocsin.db import Database
from tocsin.settings import Settings

ENV = {"TOCSIN_USER": None, "TOCSIN_SERVER": None, "TOCSIN_TOKEN": None}


class Cli:
    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, *args: str, code: int = 0, public_url: str | None = None) -> Result:
        env: dict[str, str | None] = {**ENV, "TOCSIN_DATABASE_URL": self.url}
        if public_url is not None:
            env["TOCSIN_PUBLIC_URL"] = public_url
        result = CliRunner().invoke(cli_app, list(args), env=env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self(*args, "--json", **kwargs).stdout)


async def _prepare(url: str) -> None:
    db = Database(Settings(database_url=url))
    try:
        await clear(db)
        await apply_policy_text(Context(settings=db.settings, db=db, clock=SystemClock()))
    finally:
        await db.dispose()


@pytest.fixture
def cli(db_url: str) -> Cli:
    asyncio.run(_prepare(db_url))
    return Cli(db_url)


async def _send_and_process(url: str, events: list[dict[str, Any]]) -> None:
    db = Database(Settings(database_url=url))
    ctx = Context(settings=db.settings, db=db, clock=SystemClock())
    try:
        app = create_app(ctx.settings, clock=ctx.clock, database=db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for event in events:
                response = await http.post("/v2/enqueue", json=event)
                assert response.status_code == 202, response.text
        await drain(ctx)
    finally:
        await db.dispose()


def test_integration_add_prints_the_key_and_url_once(cli: Cli) -> None:
    made = cli.json(
        "integration",
        "add",
        "Datadog prod",
        "--type",
        "pagerduty",
        "--team",
        "payments",
        public_url="https://tocsin.example.org",
    )
    assert made["id"] == "datadog-prod" and len(made["key"]) == 32
    assert made["url"] == "https://tocsin.example.org/v2/enqueue"
    human = cli("integration", "add", "Uptime", "--type", "pagerduty", "--id", "uptime").stdout
    assert "Added integration uptime (pagerduty)" in human
    assert "key:" in human and "/v2/enqueue" in human
    listed = cli("integration", "list").stdout
    assert "datadog-prod" in listed and "prometheus" in listed and "none yet" in listed
    assert made["key"] not in listed and made["key"][:6] in listed
    rows = cli.json("integration", "list")
    assert {r["id"] for r in rows} == {"datadog-prod", "uptime", "prometheus"}
    assert all(r["key"] is None for r in rows)


@pytest.mark.parametrize("kind", ["alertmanager", "grafana", "sentry", "generic"])
def test_integration_add_shows_each_webhook_url_with_its_key(cli: Cli, kind: str) -> None:
    public = "https://tocsin.example.org"
    made = cli.json("integration", "add", f"My {kind}", "--type", kind, public_url=public)
    assert made["url"] == f"{public}/webhooks/{kind}/{made['key']}"
    human = cli("integration", "add", "Other", "--type", kind, public_url=public).stdout
    [key] = [line.split()[1] for line in human.splitlines() if line.strip().startswith("key:")]
    assert f"  url:  {public}/webhooks/{kind}/{key}\n" in human
    assert cli.json("integration", "list")[0]["url"] is None  # the key is not known again


def test_integration_rotate_key(cli: Cli) -> None:
    first = cli.json("integration", "rotate-key", "prometheus")
    second = cli.json("integration", "rotate-key", "prometheus")
    assert first["key"] != second["key"] and second["rotated_at"]
    assert (
        "New key for integration prometheus"
        in cli("integration", "rotate-key", "prometheus").stdout
    )
    missing = cli("integration", "rotate-key", "nope", code=1)
    assert missing.stderr.startswith("error: no integration 'nope'")
    bad = cli("integration", "add", "x", "--type", "nagios", code=1)
    assert "type" in bad.stderr


def test_alerts_list_and_show(cli: Cli) -> None:
    key = cli.json("integration", "add", "Datadog", "--type", "pagerduty")["key"]
    asyncio.run(
        _send_and_process(
            cli.url,
            [
                trigger(key, "Checkout down", dedup_key="a"),
                trigger(key, "Checkout down", dedup_key="a"),
                trigger(key, "Login slow", dedup_key="b"),
                {"routing_key": key, "event_action": "resolve", "dedup_key": "b"},
            ],
        )
    )
    out = cli.json("alerts", "list")
    assert out["total"] == 2
    assert [(a["dedup_key"], a["status"], a["count"]) for a in out["alerts"]] == [
        ("b", "resolved", 1),
        ("a", "triggered", 2),
    ]
    triggered = cli.json("alerts", "list", "--status", "triggered", "--integration", "datadog")
    assert [a["dedup_key"] for a in triggered["alerts"]] == ["a"]
    assert cli.json("alerts", "list", "--integration", "prometheus")["total"] == 0
    table = cli("alerts", "list").stdout
    assert "Checkout down" in table and "INC-" in table
    alert_id = str(out["alerts"][1]["id"])
    shown = cli.json("alerts", "show", alert_id)
    assert [(e["action"], e["outcome"]) for e in shown["events"]] == [
        ("trigger", "opened"),
        ("trigger", "updated"),
    ]
    human = cli("alerts", "show", alert_id).stdout
    assert "Dedup key" in human and "opened" in human and "updated" in human
    assert cli("alerts", "show", "999", code=1).stderr.startswith("error: no alert 999")
    assert "unknown status" in cli("alerts", "list", "--status", "open", code=1).stderr
