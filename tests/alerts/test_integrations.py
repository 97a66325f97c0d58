"""Integrations through the API: made with a key shown once, listed, keys rotated; those
declared in the policy; who may manage them; the audit log."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from tests.alerts.conftest import Enqueue, HttpFor, apply_policy_text, drain, token, trigger

from tocsin.alerts.models import Alert, Integration
from tocsin.context import Context

API = "/api/v1"


async def test_add_one_and_send_with_its_key(
    ready: Context, admin: httpx.AsyncClient, enqueue: Enqueue
) -> None:
    made = await admin.post(
        f"{API}/integrations",
        json={"name": "Datadog (prod)", "type": "pagerduty", "service": "checkout"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["id"] == "datadog-prod"
    assert re.fullmatch(r"[0-9a-f]{32}", body["key"])
    assert body["url"] == "http://127.0.0.1:8080/v2/enqueue"
    assert body["key_prefix"] == body["key"][:6]
    assert (body["origin"], body["has_key"], body["created_by"]) == (
        "api",
        True,
        "admin@example.com",
    )
    # Only a hash is stored.
    async with ready.db.read() as session:
        row = await session.scalar(select(Integration).where(Integration.key == "datadog-prod"))
    assert row is not None and row.key_hash is not None
    assert body["key"] not in (row.key_hash, row.key_prefix)
    assert (await enqueue(trigger(body["key"]))).status_code == 202
    # The key is never shown again.
    listed = (await admin.get(f"{API}/integrations")).json()
    shown = next(i for i in listed if i["id"] == "datadog-prod")
    assert shown["key"] is None and shown["url"] == body["url"]
    one = (await admin.get(f"{API}/integrations/datadog-prod")).json()
    assert one == shown


async def test_the_public_url_makes_the_webhook_url(ready: Context, http_as: HttpFor) -> None:
    from tocsin.app import create_app
    from tocsin.settings import Settings

    settings = Settings(
        database_url=ready.settings.database_url, public_url="https://tocsin.example.org/"
    )
    app = create_app(settings, clock=ready.clock, database=ready.db)
    secret = await token(ready, "admin@example.com", admin=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {secret}"},
    ) as http:
        made = await http.post(f"{API}/integrations", json={"name": "x", "type": "pagerduty"})
    assert made.json()["url"] == "https://tocsin.example.org/v2/enqueue"


async def test_webhook_urls_hold_the_key_so_they_are_shown_only_with_it(
    admin: httpx.AsyncClient,
) -> None:
    made = await admin.post(f"{API}/integrations", json={"name": "AM", "type": "alertmanager"})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert made.json()["url"] == f"http://127.0.0.1:8080/webhooks/alertmanager/{key}"
    assert (await admin.get(f"{API}/integrations/am")).json()["url"] is None


async def test_rotating_a_key_stops_the_old_one(
    ready: Context, admin: httpx.AsyncClient, enqueue: Enqueue
) -> None:
    made = (await admin.post(f"{API}/integrations", json={"name": "x", "type": "pagerduty"})).json()
    ready.clock.advance(minutes=1)
    rotated = await admin.post(f"{API}/integrations/x/rotate-key")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["key"] != made["key"] and new["rotated_at"] == ready.clock.now().isoformat().replace(
        "+00:00", "Z"
    )
    assert (await enqueue(trigger(made["key"]))).json()["errors"] == ["Invalid routing key"]
    assert (await enqueue(trigger(new["key"]))).status_code == 202


async def test_policy_integrations_are_listed_and_get_their_key_by_rotation(
    ready: Context, admin: httpx.AsyncClient, enqueue: Enqueue
) -> None:
    [declared] = (await admin.get(f"{API}/integrations")).json()
    assert declared["id"] == "prometheus"
    assert (declared["origin"], declared["has_key"], declared["team"], declared["service"]) == (
        "policy",
        False,
        "payments",
        "checkout",
    )
    assert declared["created_at"] is None
    clash = await admin.post(
        f"{API}/integrations", json={"name": "Prometheus", "id": "prometheus", "type": "pagerduty"}
    )
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "integration_in_policy"
    first = await admin.post(f"{API}/integrations/prometheus/rotate-key")
    assert first.status_code == 200, first.text
    key = first.json()["key"]
    assert (first.json()["has_key"], first.json()["rotated_at"]) == (True, None)
    assert (await enqueue(trigger(key, dedup_key="p"))).status_code == 202
    await drain(ready)
    async with ready.db.read() as session:
        alert = await session.scalar(select(Alert))
    assert alert is not None and alert.dedup_key == "p"


async def test_a_policy_integration_can_take_its_key_from_the_environment(
    ready: Context, admin: httpx.AsyncClient, enqueue: Enqueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_GRAFANA_KEY", "g" * 32)
    await apply_policy_text(
        ready,
        "integrations:\n"
        "  - {key: grafana-pd, name: Grafana, type: pagerduty, key_env: TOCSIN_TEST_GRAFANA_KEY}\n",
    )
    [shown] = (await admin.get(f"{API}/integrations")).json()
    assert (shown["has_key"], shown["key_env"], shown["key_prefix"]) == (
        True,
        "TOCSIN_TEST_GRAFANA_KEY",
        "gggggg",
    )
    assert (await enqueue(trigger("g" * 32))).status_code == 202
    refused = await admin.post(f"{API}/integrations/grafana-pd/rotate-key")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "integration_key_from_env"
    # A new value replaces the old one at once.
    monkeypatch.setenv("TOCSIN_TEST_GRAFANA_KEY", "h" * 32)
    assert (await enqueue(trigger("g" * 32))).status_code == 400
    assert (await enqueue(trigger("h" * 32))).status_code == 202
    monkeypatch.delenv("TOCSIN_TEST_GRAFANA_KEY")
    assert (await enqueue(trigger("h" * 32))).status_code == 400


async def test_who_may_manage_integrations(ready: Context, http_as: HttpFor) -> None:
    nobody = http_as(await token(ready, "dev@example.com"))
    refused = await nobody.post(f"{API}/integrations", json={"name": "x", "type": "pagerduty"})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["permission"] == "manage-integrations"
    assert (await nobody.post(f"{API}/integrations/x/rotate-key")).status_code == 403
    # Anyone signed in may list them (no secrets are shown).
    assert (await nobody.get(f"{API}/integrations")).status_code == 200


async def test_a_role_with_manage_integrations(ready: Context, http_as: HttpFor) -> None:
    import yaml  # type: ignore[import-untyped]
    from tests.alerts.conftest import DEFAULT_POLICY

    from tocsin.auth.actor import SYSTEM
    from tocsin.policy import service as policies

    policy = yaml.safe_load(DEFAULT_POLICY)
    policy["roles"].append({"key": "sre", "name": "SRE", "permissions": ["manage-integrations"]})
    async with ready.db.write() as session:
        await policies.apply(session, SYSTEM, yaml.safe_dump(policy), clock=ready.clock)
    sre = http_as(await token(ready, "sre@example.com", roles=("sre",)))
    made = await sre.post(f"{API}/integrations", json={"name": "x", "type": "pagerduty"})
    assert made.status_code == 201, made.text


async def test_bad_integrations_are_refused(admin: httpx.AsyncClient) -> None:
    async def post(body: dict[str, object]) -> httpx.Response:
        return await admin.post(f"{API}/integrations", json=body)

    nagios = await post({"name": "x", "type": "nagios"})
    assert nagios.status_code == 422 and "pagerduty" in nagios.json()["error"]["message"]
    assert (await post({"name": " ", "type": "pagerduty"})).status_code == 422
    assert (await post({"name": "x", "id": "no spaces", "type": "pagerduty"})).status_code == 422
    unknown_team = await post({"name": "x", "type": "pagerduty", "team": "nope"})
    assert unknown_team.status_code == 422 and "payments" in unknown_team.json()["error"]["message"]
    no_slug = await post({"name": "!!!", "type": "pagerduty"})
    assert no_slug.status_code == 422
    assert (await post({"name": "Dup", "type": "pagerduty"})).status_code == 201
    twice = await post({"name": "DUP", "type": "pagerduty"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "integration_exists"
    assert (await admin.post(f"{API}/integrations/nope/rotate-key")).status_code == 404
    assert (await admin.get(f"{API}/integrations/nope")).status_code == 404


async def test_creating_and_rotating_are_audited(ready: Context, admin: httpx.AsyncClient) -> None:
    made = (await admin.post(f"{API}/integrations", json={"name": "x", "type": "pagerduty"})).json()
    await admin.post(f"{API}/integrations/x/rotate-key")
    entries = (await admin.get(f"{API}/audit", params={"object_type": "integration"})).json()
    actions = [(e["action"], e["object_id"]) for e in entries]
    assert ("integration.create", "x") in actions and ("integration.rotate_key", "x") in actions
    text = str(entries)
    assert made["key"] not in text  # the audit log holds prefixes, never keys
