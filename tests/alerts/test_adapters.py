"""The webhook adapters, pure: what each tool's body becomes, and every kind of bad body
refused with the field named (Alertmanager, Grafana, Sentry, generic mappings)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
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

from tocsin.alerts.adapters import alertmanager, expressions, generic, grafana, sentry
from tocsin.alerts.adapters.common import Ignored, InvalidPayload, severity_of
from tocsin.policy.schema_alerts import WebhookMapping

JSON = "application/json"


def errors_of(call: Callable[[], Any]) -> list[str]:
    with pytest.raises(InvalidPayload) as refused:
        call()
    return refused.value.errors


# --- Alertmanager ------------------------------------------------------------------------


def test_an_alertmanager_group_is_one_event_per_alert() -> None:
    first, second = alertmanager.parse(encoded(ALERTMANAGER), JSON)
    assert (first.action, first.dedup_key, first.severity) == (
        "trigger",
        "3360f0ddbdcb1711",
        "critical",
    )
    assert first.summary == "Checkout 5xx above 5%"
    assert (first.source, first.component, first.group, first.class_) == (
        "web-01:9100",
        "checkout",
        "eu-1",
        "CheckoutErrors",
    )
    assert first.timestamp == datetime(2026, 1, 15, 8, 58, 30, 123456, tzinfo=UTC)
    assert first.links == [{"href": ALERTMANAGER["alerts"][0]["generatorURL"], "text": "Source"}]
    assert first.details["annotations"]["runbook_url"] == "https://runbooks.example.org/checkout"
    assert (first.client, first.client_url) == ("Alertmanager", ALERTMANAGER["externalURL"])
    assert first.raw["groupKey"] == ALERTMANAGER["groupKey"]
    assert first.raw["alert"] == ALERTMANAGER["alerts"][0]
    assert "commonAnnotations" not in first.raw  # not copied once per alert
    # No summary annotation: the description; severity "warning".
    assert (second.summary, second.severity) == ("12% of requests to /checkout fail", "warning")


def test_resolved_alerts_resolve_with_the_same_dedup_key() -> None:
    firing = alertmanager.parse(encoded(ALERTMANAGER), JSON)
    done = alertmanager.parse(encoded(resolved(ALERTMANAGER)), JSON)
    assert [e.action for e in done] == ["resolve", "resolve"]
    assert [e.dedup_key for e in done] == [e.dedup_key for e in firing]


def test_without_a_fingerprint_the_key_is_alertmanagers_own_hash_of_the_labels() -> None:
    sample = body(ALERTMANAGER)
    del sample["alerts"][0]["fingerprint"]
    labels = {"alertname": "CheckoutDown", "severity": "critical", "instance": "web-01:9100"}
    sample["alerts"][0]["labels"] = labels
    [event, _] = alertmanager.parse(encoded(sample), JSON)
    # The fingerprint a real Alertmanager 0.25 gave these labels.
    assert event.dedup_key == "3360f0ddbdcb1711"
    assert alertmanager.fingerprint({}) == "cbf29ce484222325"


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("critical", "critical"),
        ("Page", "critical"),
        ("P1", "critical"),
        ("error", "error"),
        ("high", "error"),
        ("warning", "warning"),
        ("warn", "warning"),
        ("info", "info"),
        ("none", "info"),
        ("unheard-of", "error"),
        (None, "error"),
    ],
)
def test_severity_labels(word: str | None, severity: str) -> None:
    assert severity_of(word) == severity


def test_summary_falls_back_to_the_alert_name_and_is_cut_to_1024() -> None:
    sample = body(ALERTMANAGER)
    sample["alerts"][0]["annotations"] = {"summary": "  "}
    sample["alerts"][1]["annotations"] = {"summary": "x" * 2000}
    first, second = alertmanager.parse(encoded(sample), JSON)
    assert first.summary == "CheckoutErrors"
    assert len(second.summary) == 1024 and second.summary.endswith("…")


def _alert(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    sample = body(ALERTMANAGER)
    change(sample["alerts"][1])
    return sample


BAD_ALERTMANAGER: list[tuple[str, dict[str, Any], str]] = [
    ("no version", body(ALERTMANAGER, version=None), "'version' must be '4'"),
    ("Grafana's version", body(ALERTMANAGER, version="1"), "not '1'"),
    ("no alerts", body(ALERTMANAGER, alerts=None), "'alerts' is missing"),
    ("alerts an object", body(ALERTMANAGER, alerts={}), "'alerts' must be an array"),
    ("an alert a string", body(ALERTMANAGER, alerts=["x"]), "'alerts[0]' must be an object"),
    (
        "unknown status",
        _alert(lambda a: a.update(status="pending")),
        "'alerts[1].status' must be firing or resolved",
    ),
    (
        "labels a list",
        _alert(lambda a: a.update(labels=["a"])),
        "'alerts[1].labels' must be an object",
    ),
    (
        "a label a number",
        _alert(lambda a: a["labels"].update(severity=3)),
        "'alerts[1].labels.severity' must be a string",
    ),
    (
        "annotations a string",
        _alert(lambda a: a.update(annotations="x")),
        "'alerts[1].annotations' must be an object",
    ),
    (
        "bad startsAt",
        _alert(lambda a: a.update(startsAt="yesterday")),
        "'alerts[1].startsAt' is not an ISO 8601 timestamp",
    ),
    (
        "fingerprint a number",
        _alert(lambda a: a.update(fingerprint=7)),
        "'alerts[1].fingerprint' must be a string",
    ),
    (
        "fingerprint too long",
        _alert(lambda a: a.update(fingerprint="f" * 256)),
        "'alerts[1].fingerprint' is too long",
    ),
    (
        "nothing to tell it apart",
        _alert(lambda a: a.update(fingerprint="", labels={})),
        "'alerts[1]' has neither a fingerprint nor labels",
    ),
    (
        "generatorURL a number",
        _alert(lambda a: a.update(generatorURL=1)),
        "'alerts[1].generatorURL' must be a string",
    ),
]


@pytest.mark.parametrize(
    ("sample", "says"),
    [(s, says) for _, s, says in BAD_ALERTMANAGER],
    ids=[b[0] for b in BAD_ALERTMANAGER],
)
def test_bad_alertmanager_payloads_name_the_field(sample: dict[str, Any], says: str) -> None:
    errors = errors_of(lambda: alertmanager.parse(encoded(sample), JSON))
    assert any(says in e for e in errors), errors


@pytest.mark.parametrize(
    ("raw", "content_type", "says"),
    [
        (b"{}", "text/plain", "Content-Type must be application/json"),
        (b"{", JSON, "not valid JSON"),
        (b"[]", JSON, "must be a JSON object"),
    ],
)
def test_bodies_that_are_not_json_objects(raw: bytes, content_type: str, says: str) -> None:
    for parse in (alertmanager.parse, grafana.parse):
        assert says in errors_of(lambda parse=parse: parse(raw, content_type))[0]


def test_every_problem_is_named_at_once() -> None:
    sample = body(ALERTMANAGER)
    sample["alerts"][0]["status"] = "x"
    sample["alerts"][1]["startsAt"] = "never"
    errors = errors_of(lambda: alertmanager.parse(encoded(sample), JSON))
    assert len(errors) == 2 and "alerts[0]" in errors[0] and "alerts[1]" in errors[1]


# --- Grafana -----------------------------------------------------------------------------


def test_a_grafana_notification() -> None:
    [event] = grafana.parse(encoded(GRAFANA), JSON)
    assert (event.action, event.dedup_key, event.severity, event.summary) == (
        "trigger",
        "57c6d9296de2ad39",
        "warning",
        "p99 latency above 2 s",
    )
    assert [link["text"] for link in event.links] == ["Alert rule", "Dashboard", "Panel", "Silence"]
    assert event.details["values"] == {"B": 3.1, "C": 1}
    assert event.details["valueString"].startswith("[ var='B'")
    assert (event.raw["title"], event.raw["orgId"], event.client) == (
        "[FIRING:1] High latency Checkout",
        1,
        "Grafana",
    )
    assert "message" not in event.raw
    [done] = grafana.parse(encoded(resolved(GRAFANA)), JSON)
    assert (done.action, done.dedup_key) == ("resolve", event.dedup_key)


def test_grafana_images_and_a_legacy_body() -> None:
    sample = body(GRAFANA)
    sample["alerts"][0]["imageURL"] = "https://grafana.example.org/img/1.png"
    [event] = grafana.parse(encoded(sample), JSON)
    assert event.images == [{"src": "https://grafana.example.org/img/1.png"}]
    legacy = {"ruleName": "x", "state": "alerting", "evalMatches": [], "title": "[Alerting] x"}
    errors = errors_of(lambda: grafana.parse(encoded(legacy), JSON))
    assert errors == [
        "'version' must be '1' (Grafana's webhook format), it is missing",
        "'alerts' is missing",
    ]


# --- Sentry ------------------------------------------------------------------------------


def test_a_sentry_issue_alert_and_the_issue_share_a_key() -> None:
    [alert] = sentry.parse(encoded(SENTRY_EVENT_ALERT), JSON, "event_alert")
    assert (alert.action, alert.dedup_key, alert.severity, alert.summary) == (
        "trigger",
        "sentry-issue-1117540176",
        "error",
        "ReferenceError: heck is not defined",
    )
    assert (alert.group, alert.class_, alert.component) == (
        "prod",
        "Very Important Alert Rule!",
        "?(<anonymous>)",
    )
    assert alert.timestamp == datetime(2026, 1, 15, 8, 58, 17, 677000, tzinfo=UTC)
    assert alert.raw["resource"] == "event_alert"
    [created] = sentry.parse(encoded(SENTRY_ISSUE), JSON, "issue")
    assert (created.action, created.dedup_key, created.severity, created.source) == (
        "trigger",
        "sentry-issue-1117540176",
        "critical",
        "front-end",
    )
    for action in ("resolved", "archived"):
        [done] = sentry.parse(encoded(body(SENTRY_ISSUE, action=action)), JSON, "issue")
        assert (done.action, done.dedup_key) == ("resolve", "sentry-issue-1117540176")


def test_a_sentry_metric_alert_from_critical_to_resolved() -> None:
    [critical] = sentry.parse(encoded(SENTRY_METRIC_ALERT), JSON, "metric_alert")
    assert (critical.action, critical.dedup_key, critical.severity, critical.summary) == (
        "trigger",
        "sentry-metric-alert-4",
        "critical",
        "Critical: Too many errors",
    )
    assert critical.details["description"].startswith("1000 events")
    warning = body(SENTRY_METRIC_ALERT, action="warning")
    assert sentry.parse(encoded(warning), JSON, "metric_alert")[0].severity == "warning"
    done = body(SENTRY_METRIC_ALERT, action="resolved")
    [resolve] = sentry.parse(encoded(done), JSON, "metric_alert")
    assert (resolve.action, resolve.dedup_key) == ("resolve", "sentry-metric-alert-4")


@pytest.mark.parametrize(
    ("resource", "sample"),
    [
        ("installation", {"action": "created", "data": {"installation": {}}}),
        ("comment", {"action": "created", "data": {}}),
        ("issue", body(SENTRY_ISSUE, action="assigned")),
        ("metric_alert", body(SENTRY_METRIC_ALERT, action="paused")),
    ],
)
def test_other_sentry_webhooks_are_ignored(resource: str, sample: dict[str, Any]) -> None:
    with pytest.raises(Ignored, match=resource):
        sentry.parse(encoded(sample), JSON, resource)


@pytest.mark.parametrize(
    ("resource", "sample", "says"),
    [
        (None, SENTRY_ISSUE, "Sentry-Hook-Resource header is missing"),
        ("issue", body(SENTRY_ISSUE, action=None), "'action' is missing"),
        ("issue", body(SENTRY_ISSUE, data="x"), "'data' must be an object"),
        ("issue", body(SENTRY_ISSUE, data={}), "'data.issue' is missing"),
        ("issue", body(SENTRY_ISSUE, data={"issue": {"title": "x"}}), "'data.issue.id' is missing"),
        ("issue", body(SENTRY_ISSUE, data={"issue": {"id": 5}}), "'data.issue.title' is missing"),
        ("event_alert", body(SENTRY_EVENT_ALERT, data={"event": []}), "'data.event' must be"),
        (
            "event_alert",
            body(SENTRY_EVENT_ALERT, data={"event": {"title": "x", "issue_id": True}}),
            "'data.event.issue_id' must be a string",
        ),
        ("metric_alert", body(SENTRY_METRIC_ALERT, data={}), "'data.metric_alert' is missing"),
        (
            "metric_alert",
            body(SENTRY_METRIC_ALERT, data={"metric_alert": {"date_started": "then"}}),
            "'data.metric_alert.id' is missing",
        ),
    ],
)
def test_bad_sentry_payloads(resource: str | None, sample: dict[str, Any], says: str) -> None:
    errors = errors_of(lambda: sentry.parse(encoded(sample), JSON, resource))
    assert any(says in e for e in errors), errors


# --- generic -----------------------------------------------------------------------------

UPTIME = WebhookMapping(
    summary="body.check.name ~ ' is ' ~ body.state",
    dedup_key="body.check.id",
    severity="{'P1': 'critical', 'P2': 'error'}.get(body.priority, 'warning')",
    resolve_when="body.state == 'up'",
    source="body.check.url",
    component=None,
    group="body.region",
    details="{'latency_ms': body.latency_ms, 'values': body.values}",
    timestamp="body.at",
)
DOWN = {
    "check": {"id": 42, "name": "Checkout", "url": "https://shop.example.org/checkout"},
    "state": "down",
    "priority": "P1",
    "region": "eu",
    "latency_ms": 5000,
    "values": [1, 2],
    "at": 1768467480,
}


def test_a_generic_body_through_a_mapping() -> None:
    event = generic.parse(encoded(DOWN), JSON, UPTIME)
    assert (event.action, event.dedup_key, event.summary, event.severity) == (
        "trigger",
        "42",
        "Checkout is down",
        "critical",
    )
    assert (event.source, event.component, event.group) == (
        "https://shop.example.org/checkout",
        None,
        "eu",
    )
    assert event.details == {"latency_ms": 5000, "values": [1, 2]}  # the key, not dict.values
    assert event.timestamp == datetime(2026, 1, 15, 8, 58, tzinfo=UTC)
    assert event.raw == DOWN
    up = generic.parse(encoded({**DOWN, "state": "up", "priority": "P9"}), JSON, UPTIME)
    assert (up.action, up.dedup_key) == ("resolve", "42")


def test_the_default_mapping_reads_tocsins_field_names() -> None:
    sent = {"summary": "Disk full", "severity": "WARNING", "dedup_key": "disk", "source": "db-1"}
    event = generic.parse(encoded(sent), JSON, WebhookMapping())
    assert (event.action, event.summary, event.severity, event.dedup_key, event.source) == (
        "trigger",
        "Disk full",
        "warning",
        "disk",
        "db-1",
    )
    minimal = generic.parse(encoded({"summary": "x"}), JSON, WebhookMapping())
    assert (minimal.severity, minimal.dedup_key, minimal.source) == ("error", None, "")
    done = generic.parse(
        encoded({"status": "resolved", "dedup_key": "disk"}), JSON, WebhookMapping()
    )
    assert (done.action, done.dedup_key) == ("resolve", "disk")


@pytest.mark.parametrize(
    ("sent", "mapping", "says"),
    [
        ({}, WebhookMapping(), "mapping 'summary' (body.summary) gave nothing"),
        (
            {"summary": "x", "severity": "P1"},
            WebhookMapping(),
            "mapping 'severity' (body.severity or 'error') gave 'P1', not one of critical",
        ),
        (
            {"status": "resolved"},
            WebhookMapping(),
            "mapping 'dedup_key' (body.dedup_key) gave nothing",
        ),
        (
            {"status": "resolved"},
            WebhookMapping(dedup_key=None),
            "mapping 'dedup_key' is not set: a resolve needs one",
        ),
        (
            {"summary": {"a": 1}},
            WebhookMapping(),
            "mapping 'summary' (body.summary) must give text, not dict",
        ),
        (
            {"summary": "x", "dedup_key": "k" * 256},
            WebhookMapping(),
            "mapping 'dedup_key' (body.dedup_key) gave more than 255 characters",
        ),
        (
            {"summary": "x", "timestamp": "soon"},
            WebhookMapping(),
            "mapping 'timestamp' (body.timestamp) gave 'soon', not ISO 8601",
        ),
        (
            {"summary": "x", "n": "a"},
            WebhookMapping(source="body.n + 1"),
            "mapping 'source' (body.n + 1) failed:",
        ),
        (
            {"summary": "x"},
            WebhookMapping(details="body.summary.__class__.__mro__[1].__subclasses__()"),
            "mapping 'details'",
        ),
    ],
)
def test_mapping_errors_name_the_field_and_expression(
    sent: dict[str, Any], mapping: WebhookMapping, says: str
) -> None:
    errors = errors_of(lambda: generic.parse(encoded(sent), JSON, mapping))
    assert any(says in e for e in errors), errors


def test_expressions_are_sandboxed_and_checked() -> None:
    assert expressions.evaluate("body.__class__", {}) is None
    assert expressions.evaluate("body.a.b.c", {}) is None
    assert expressions.problem("{'P1': 'critical'}.get(body.priority, 'warning')") is None
    assert expressions.problem("body.title +") == (
        "not a valid expression: unexpected end of expression"
    )
    assert expressions.problem("body.a body.b") == "unexpected 'body' after the expression"
    assert expressions.problem("bdy.title") == (
        "unknown name 'bdy': an expression reads the JSON body as 'body'"
    )
    assert expressions.problem("body.x | shout") == (
        "not a valid expression: No filter named 'shout'."
    )
