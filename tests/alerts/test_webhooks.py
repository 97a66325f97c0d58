"""The webhook doors through HTTP: Alertmanager, Grafana, Sentry and generic JSON.

Accepted bodies are stored (events and jobs) before the ``202``; the jobs open alerts and
incidents and a later resolve resolves the same alert. Refusals are Tocsin's error shape
(``400`` bad payload, ``401`` key or signature, ``429``, ``503`` retry) and store nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.alerts.conftest import ALERTS_POLICY, apply_policy_text, drain, make_integration, trigger
from tests.alerts.samples import (
    ALERTMANAGER,
    GRAFANA,
    SENTRY_EVENT_ALERT,
    SENTRY_ISSUE,
    SENTRY_METRIC_ALERT,
    body,
    encoded,
    resolved,
)

from tocsin.alerts.models import Alert, AlertEvent
from tocsin.app import create_app
from tocsin.context import Context
from tocsin.db import Database
from tocsin.incidents.models import Incident
from tocsin.jobs.models import Job
from tocsin.settings import Settings

KEYS = {"am": "am-key-0123456789", "grafana": "gf-key-0123456789", "sentry": "se-key-0123456789"}
KEYS["uptime"] = "up-key-0123456789"
SECRETS = {"grafana": "grafana-hmac-secret", "sentry": "sentry-client-secret"}
SECRETS["uptime"] = "uptime-signing-secret"
WEBHOOK_POLICY = (
    ALERTS_POLICY
    + """
  - {key: am, name: Alertmanager, type: alertmanager, key_env: TEST_AM_KEY, service: checkout}
  - key: grafana
    name: Grafana
    type: grafana
    key_env: TEST_GRAFANA_KEY
    signing_secret_env: TEST_GRAFANA_SECRET
  - key: sentry
    name: Sentry
    type: sentry
    key_env: TEST_SENTRY_KEY
    signing_secret_env: TEST_SENTRY_SECRET
  - key: uptime
    name: Uptime checks
    type: generic
    key_env: TEST_UPTIME_KEY
    signing_secret_env: TEST_UPTIME_SECRET
    mapping:
      summary: "body.check ~ ' is ' ~ body.state"
      dedup_key: "body.check"
      severity: "{'P1': 'critical'}.get(body.priority, 'warning')"
      resolve_when: "body.state == 'up'"
      source: "body.host"
"""
)


@pytest.fixture
async def hooks(ready: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    """``ready`` (whose ``app_client`` posts here) under the webhook integrations' policy."""
    for name, value in KEYS.items():
        monkeypatch.setenv(f"TEST_{name.upper()}_KEY", value)
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"TEST_{name.upper()}_SECRET", value)
    await apply_policy_text(ready, WEBHOOK_POLICY)
    return ready


async def count(ctx: Context, model: Any) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def alerts_of(ctx: Context) -> list[tuple[str, str, int, str, str]]:
    async with ctx.db.read() as session:
        rows = (await session.scalars(select(Alert).order_by(Alert.id))).all()
    return [(a.dedup_key, a.status, a.count, a.summary, a.severity) for a in rows]


def accepted(response: httpx.Response) -> list[str]:
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    return list(response.json()["dedup_keys"])


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


async def nothing_stored(ctx: Context) -> None:
    assert (await count(ctx, AlertEvent), await count(ctx, Job)) == (0, 0)


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _json(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", **(headers or {})}


# --- Alertmanager ------------------------------------------------------------------------


async def test_alertmanager_firing_then_resolved(
    hooks: Context, app_client: httpx.AsyncClient
) -> None:
    url = f"/webhooks/alertmanager/{KEYS['am']}"
    keys = accepted(await app_client.post(url, json=ALERTMANAGER))
    assert keys == ["3360f0ddbdcb1711", "a1b2c3d4e5f60718"]
    # Before any job: both events, and the one job that processes them.
    assert (await count(hooks, AlertEvent), await count(hooks, Job)) == (2, 1)
    async with hooks.db.read() as session:
        stored = (await session.scalars(select(AlertEvent).order_by(AlertEvent.id))).all()
    assert stored[0].payload["alert"] == ALERTMANAGER["alerts"][0]
    assert KEYS["am"] not in json.dumps([e.payload for e in stored])

    await drain(hooks)
    assert await alerts_of(hooks) == [
        ("3360f0ddbdcb1711", "triggered", 1, "Checkout 5xx above 5%", "critical"),
        ("a1b2c3d4e5f60718", "triggered", 1, "12% of requests to /checkout fail", "warning"),
    ]
    assert [i.title for i in await _incidents(hooks)] == [
        "Checkout 5xx above 5%",
        "12% of requests to /checkout fail",
    ]

    hooks.clock.advance(minutes=5)  # Alertmanager repeats the notification
    accepted(await app_client.post(url, json=ALERTMANAGER))
    await drain(hooks)
    assert [a[2] for a in await alerts_of(hooks)] == [2, 2]

    hooks.clock.advance(minutes=5)
    accepted(await app_client.post(url, json=resolved(ALERTMANAGER)))
    await drain(hooks)
    assert [(a[1], a[2]) for a in await alerts_of(hooks)] == [("resolved", 2), ("resolved", 2)]
    assert len(await _incidents(hooks)) == 2  # one per alert, none more


async def _incidents(ctx: Context) -> list[Incident]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def test_the_key_in_the_authorization_header(
    hooks: Context, app_client: httpx.AsyncClient
) -> None:
    bearer = {"Authorization": f"Bearer {KEYS['am']}"}
    accepted(await app_client.post("/webhooks/alertmanager", json=ALERTMANAGER, headers=bearer))
    basic = base64.b64encode(f"tocsin:{KEYS['am']}".encode()).decode()
    basic_auth = {"Authorization": f"Basic {basic}"}
    accepted(await app_client.post("/webhooks/alertmanager", json=ALERTMANAGER, headers=basic_auth))
    assert await count(hooks, AlertEvent) == 4


async def test_missing_and_wrong_keys(hooks: Context, app_client: httpx.AsyncClient) -> None:
    message = refused(
        await app_client.post("/webhooks/alertmanager", json=ALERTMANAGER),
        401,
        "missing_integration_key",
    )
    assert "/webhooks/alertmanager/KEY" in message and "Authorization: Bearer" in message
    unknown = await app_client.post("/webhooks/alertmanager/nope", json=ALERTMANAGER)
    assert refused(unknown, 401, "invalid_key") == "no integration has this key"
    pagerduty = await make_integration(hooks, "PD")
    wrong = await app_client.post(f"/webhooks/alertmanager/{pagerduty}", json=ALERTMANAGER)
    assert refused(wrong, 401, "invalid_key") == (
        "this key belongs to integration 'pd' of type pagerduty, which does not take "
        "alertmanager webhooks"
    )
    # And an Alertmanager key at PagerDuty's door: PagerDuty's answer.
    enqueue = await app_client.post("/v2/enqueue", json=trigger(KEYS["am"]))
    assert enqueue.status_code == 400
    assert "of type alertmanager" in enqueue.json()["errors"][0]
    await nothing_stored(hooks)


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (encoded(body(ALERTMANAGER, version="3")), "application/json", "'version' must be '4'"),
        (encoded(ALERTMANAGER), "text/plain", "Content-Type must be application/json"),
        (b"{not json", "application/json", "not valid JSON"),
    ],
)
async def test_bad_alertmanager_payloads(
    hooks: Context, app_client: httpx.AsyncClient, content: bytes, content_type: str, says: str
) -> None:
    response = await app_client.post(
        f"/webhooks/alertmanager/{KEYS['am']}",
        content=content,
        headers={"Content-Type": content_type},
    )
    assert says in refused(response, 400, "invalid_payload")
    await nothing_stored(hooks)


async def test_one_bad_alert_refuses_the_whole_group(
    hooks: Context, app_client: httpx.AsyncClient
) -> None:
    sample = body(ALERTMANAGER)
    sample["alerts"][1]["status"] = "pending"
    response = await app_client.post(f"/webhooks/alertmanager/{KEYS['am']}", json=sample)
    message = refused(response, 400, "invalid_payload")
    assert message == (
        "invalid alertmanager payload: 'alerts[1].status' must be firing or resolved"
    )
    assert response.json()["error"]["details"] == {
        "errors": ["'alerts[1].status' must be firing or resolved"]
    }
    await nothing_stored(hooks)


# --- Grafana -----------------------------------------------------------------------------


def _grafana(ctx: Context, document: Any, *, age: int = 0, secret: str | None = None) -> Any:
    content = encoded(document)
    stamp = str(int(ctx.clock.now().timestamp()) - age)
    signature = _hex(secret or SECRETS["grafana"], stamp.encode() + b":" + content)
    headers = _json(
        {"X-Grafana-Alerting-Signature": signature, "X-Grafana-Alerting-Timestamp": stamp}
    )
    return {"content": content, "headers": headers}


async def test_grafana_signed(hooks: Context, app_client: httpx.AsyncClient) -> None:
    url = f"/webhooks/grafana/{KEYS['grafana']}"
    [key] = accepted(await app_client.post(url, **_grafana(hooks, GRAFANA)))
    assert key == "57c6d9296de2ad39"
    await drain(hooks)
    accepted(await app_client.post(url, **_grafana(hooks, resolved(GRAFANA))))
    await drain(hooks)
    assert await alerts_of(hooks) == [
        ("57c6d9296de2ad39", "resolved", 1, "p99 latency above 2 s", "warning")
    ]


async def test_grafana_bad_signatures(hooks: Context, app_client: httpx.AsyncClient) -> None:
    url = f"/webhooks/grafana/{KEYS['grafana']}"
    missing = await app_client.post(url, json=GRAFANA)
    assert "X-Grafana-Alerting-Signature header is missing" in refused(
        missing, 401, "bad_signature"
    )
    forged = await app_client.post(url, **_grafana(hooks, GRAFANA, secret="guess"))
    assert "does not match the body" in refused(forged, 401, "bad_signature")
    old = await app_client.post(url, **_grafana(hooks, GRAFANA, age=6 * 60))
    assert "more than 5 minutes" in refused(old, 401, "bad_signature")
    await nothing_stored(hooks)


# --- Sentry ------------------------------------------------------------------------------


def _sentry(resource: str, document: Any, secret: str = SECRETS["sentry"]) -> Any:
    content = encoded(document)
    headers = _json(
        {"Sentry-Hook-Resource": resource, "Sentry-Hook-Signature": _hex(secret, content)}
    )
    return {"content": content, "headers": headers}


async def test_sentry_issue_alert_resolved_by_the_issue(
    hooks: Context, app_client: httpx.AsyncClient
) -> None:
    url = f"/webhooks/sentry/{KEYS['sentry']}"
    assert accepted(await app_client.post(url, **_sentry("event_alert", SENTRY_EVENT_ALERT))) == [
        "sentry-issue-1117540176"
    ]
    accepted(await app_client.post(url, **_sentry("metric_alert", SENTRY_METRIC_ALERT)))
    await drain(hooks)
    resolved_issue = body(SENTRY_ISSUE, action="resolved")
    accepted(await app_client.post(url, **_sentry("issue", resolved_issue)))
    done = body(SENTRY_METRIC_ALERT, action="resolved")
    accepted(await app_client.post(url, **_sentry("metric_alert", done)))
    await drain(hooks)
    assert await alerts_of(hooks) == [
        ("sentry-issue-1117540176", "resolved", 1, "ReferenceError: heck is not defined", "error"),
        ("sentry-metric-alert-4", "resolved", 1, "Critical: Too many errors", "critical"),
    ]


async def test_sentry_signatures_and_ignored_resources(
    hooks: Context, app_client: httpx.AsyncClient
) -> None:
    url = f"/webhooks/sentry/{KEYS['sentry']}"
    install = {"action": "created", "data": {"installation": {"uuid": "x"}}}
    ignored = await app_client.post(url, **_sentry("installation", install))
    assert ignored.status_code == 200, ignored.text
    assert ignored.json() == {
        "status": "ignored",
        "message": "Tocsin takes no alert from Sentry's installation created",
    }
    forged = await app_client.post(url, **_sentry("installation", install, secret="guess"))
    assert "Sentry-Hook-Signature header does not match" in refused(forged, 401, "bad_signature")
    unsigned = await app_client.post(
        url, json=SENTRY_ISSUE, headers={"Sentry-Hook-Resource": "issue"}
    )
    assert "Sentry-Hook-Signature header is missing" in refused(unsigned, 401, "bad_signature")
    no_resource = _sentry("issue", SENTRY_ISSUE)
    del no_resource["headers"]["Sentry-Hook-Resource"]
    missing = await app_client.post(url, **no_resource)
    assert "Sentry-Hook-Resource header is missing" in refused(missing, 400, "invalid_payload")
    await nothing_stored(hooks)


async def test_a_signing_secret_missing_on_the_server_refuses_with_a_retry(
    hooks: Context, app_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SENTRY_SECRET")
    response = await app_client.post(
        f"/webhooks/sentry/{KEYS['sentry']}", **_sentry("issue", SENTRY_ISSUE)
    )
    assert "its signing secret is not set on the server" in refused(
        response, 503, "signing_secret_missing"
    )
    await nothing_stored(hooks)


# --- generic -----------------------------------------------------------------------------


def _generic(ctx: Context, document: Any, *, age: int = 0, one_header: bool = True) -> Any:
    content = encoded(document)
    stamp = str(int(ctx.clock.now().timestamp()) - age)
    digest = _hex(SECRETS["uptime"], stamp.encode() + b"." + content)
    if one_header:
        headers = {"X-Tocsin-Signature": f"t={stamp},v1={digest}"}
    else:
        headers = {"X-Tocsin-Timestamp": stamp, "X-Tocsin-Signature": f"sha256={digest}"}
    return {"content": content, "headers": _json(headers)}


DOWN = {"check": "checkout", "state": "down", "priority": "P1", "host": "shop.example.org"}


async def test_generic_mapping_and_signature(hooks: Context, app_client: httpx.AsyncClient) -> None:
    url = f"/webhooks/generic/{KEYS['uptime']}"
    assert accepted(await app_client.post(url, **_generic(hooks, DOWN))) == ["checkout"]
    await drain(hooks)
    up = {**DOWN, "state": "up"}
    accepted(await app_client.post(url, **_generic(hooks, up, one_header=False)))
    await drain(hooks)
    assert await alerts_of(hooks) == [("checkout", "resolved", 1, "checkout is down", "critical")]
    async with hooks.db.read() as session:
        [alert] = (await session.scalars(select(Alert))).all()
    assert alert.source == "shop.example.org"


async def test_generic_refusals(hooks: Context, app_client: httpx.AsyncClient) -> None:
    url = f"/webhooks/generic/{KEYS['uptime']}"
    old = await app_client.post(url, **_generic(hooks, DOWN, age=301))
    assert "more than 5 minutes" in refused(old, 401, "bad_signature")
    unsigned = await app_client.post(url, json=DOWN)
    assert "X-Tocsin-Signature header is missing" in refused(unsigned, 401, "bad_signature")
    bad = await app_client.post(url, **_generic(hooks, {**DOWN, "check": ["a"]}))
    assert refused(bad, 400, "invalid_payload") == (
        "invalid generic payload: mapping 'dedup_key' (body.check) must give text, not list"
    )
    await nothing_stored(hooks)


async def test_a_generic_integration_made_through_the_api_takes_the_default_mapping(
    hooks: Context, app_client: httpx.AsyncClient
) -> None:
    key = await make_integration(hooks, "Scripts", type_="generic")
    sent = {"summary": "Backup failed", "severity": "error", "dedup_key": "backup"}
    assert accepted(await app_client.post(f"/webhooks/generic/{key}", json=sent)) == ["backup"]
    await drain(hooks)
    assert await alerts_of(hooks) == [("backup", "triggered", 1, "Backup failed", "error")]


# --- limits and failures -----------------------------------------------------------------


async def test_past_the_rate_limit(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_AM_KEY", KEYS["am"])
    await apply_policy_text(
        ctx,
        "integrations:\n  - {key: am, name: AM, type: alertmanager, key_env: TEST_AM_KEY}\n"
        "alerts:\n  rate_limit: {per_second: 1, burst: 1}\n",
    )
    app = create_app(ctx.settings, clock=ctx.clock, database=ctx.db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        url = f"/webhooks/alertmanager/{KEYS['am']}"
        accepted(await http.post(url, json=ALERTMANAGER))
        throttled = await http.post(url, json=ALERTMANAGER)
        assert "too quickly" in refused(throttled, 429, "rate_limited")
        assert throttled.headers["Retry-After"] == "1"
        ctx.clock.advance(seconds=1)
        accepted(await http.post(url, json=ALERTMANAGER))
    assert await count(ctx, AlertEvent) == 4


async def test_an_unreachable_database_asks_the_sender_to_retry(tmp_path: Path) -> None:
    """Alertmanager and Grafana retry a 5xx (never a 4xx): nothing is lost."""
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gone/tocsin.db"))
    app = create_app(database.settings, database=database)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            response = await http.post(f"/webhooks/alertmanager/{KEYS['am']}", json=ALERTMANAGER)
        assert "nothing was stored, retry" in refused(response, 503, "unavailable")
    finally:
        await database.dispose()
