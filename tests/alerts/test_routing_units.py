"""Pure parts of routing: matching alerts to routes, group keys, and the policy checks of
``alerts: routes:`` and ``alerts: maintenance:``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.alerts.conftest import ALERTS_POLICY, DEFAULT_POLICY

from tocsin.alerts.matching import MAX_GROUP_KEY, Facts, decide, detail, group_key
from tocsin.policy.loader import parse_policy
from tocsin.policy.schema import Policy
from tocsin.policy.schema_alert_routes import DEFAULT_GROUP_WINDOW

ROUTES = """
alerts:
  default_severity: SEV3
  group_window: 15m
  routes:
    - name: info-noise
      match: {severity: info}
      action: drop
    - name: checkout-5xx
      match:
        integration: prometheus
        class: http-5xx
        details: {error_rate: {regex: "^([6-9][0-9]|100)%$"}}
      severity: SEV1
      type: outage
      components: [payments, api]
      group_by: [class]
      group_window: 1h
      resolve_incident_when_alerts_resolve: true
    - name: slow
      match:
        - {summary: "(?i)slow|latency"}
        - {labels: {alertname: [HighLatency, SlowPages]}}
      severity: SEV2
      type: performance-degradation
      service: web
      team: payments
    - match: {source: {regex: "^db-"}, details: {http.code: 500}}
      severity: SEV2
"""


def policy(extra: str = ROUTES) -> Policy:
    parsed, found = parse_policy(DEFAULT_POLICY + ALERTS_POLICY + extra, "p.yaml")
    assert found == [] and parsed is not None, found
    return parsed


def facts(**fields: Any) -> Facts:
    base: dict[str, Any] = {
        "integration": "prometheus",
        "service": "checkout",
        "team": None,
        "source": "web-01",
        "severity": "critical",
        "summary": "Checkout is down",
    }
    return Facts(**{**base, **fields})


def test_without_routes_every_alert_takes_the_default_route() -> None:
    decision = decide(policy(""), facts())
    assert (decision.route, decision.action, decision.severity) == ("default", "incident", "SEV4")
    assert decision.group_window == DEFAULT_GROUP_WINDOW
    assert (decision.type, decision.components, decision.resolve_incident) == (None, (), False)
    assert decision.service == "checkout"


def test_the_first_matching_route_wins() -> None:
    p = policy()
    five_xx = facts(class_="http-5xx", details={"error_rate": "62%"}, summary="slow 5xx")
    decision = decide(p, five_xx)
    assert decision.route == "checkout-5xx"
    assert (decision.severity, decision.type, decision.components) == (
        "SEV1",
        "outage",
        ("payments", "api"),
    )
    assert decision.group_window == timedelta(hours=1) and decision.resolve_incident
    # The same alert at 40% fails the regex: the next route (summary "slow") takes it.
    slow = decide(p, facts(class_="http-5xx", details={"error_rate": "40%"}, summary="slow 5xx"))
    assert (slow.route, slow.severity, slow.service, slow.team) == (
        "slow",
        "SEV2",
        "web",
        "payments",
    )
    assert slow.group_window == timedelta(minutes=15)
    # Info alerts are ignored, whatever else they say; nothing groups them.
    ignored = decide(p, five_xx.__class__(**{**five_xx.__dict__, "severity": "info"}))
    assert (ignored.route, ignored.action, ignored.group_key) == ("info-noise", "ignore", None)


def test_a_route_with_a_list_of_matches_takes_any_of_them() -> None:
    p = policy()
    by_label = facts(summary="p99 up", details={"labels": {"alertname": "SlowPages"}})
    assert decide(p, by_label).route == "slow"
    other_label = facts(summary="p99 up", details={"labels": {"alertname": "DiskFull"}})
    assert decide(p, other_label).route == "default"
    assert decide(p, facts(summary="Latency above 5 s")).route == "slow"


def test_details_match_nested_keys_numbers_and_regexes() -> None:
    p = policy()
    hit = facts(source="db-02", summary="x", details={"http": {"code": 500}})
    assert decide(p, hit).route == "routes[3]"
    assert decide(p, facts(source="db-02", summary="x", details={"http.code": "500"})).route == (
        "routes[3]"
    )
    for details in ({"http": {"code": 502}}, {}, None, "text", {"http": "500"}):
        assert decide(p, facts(source="db-02", summary="x", details=details)).route == "default"
    assert decide(p, facts(source="web-db-02", summary="x", details=hit.details)).route == (
        "default"
    )


def test_detail_lookup() -> None:
    details = {"a.b": 1, "a": {"b": 2, "c": {"d": True}}, "n": None, "l": [1, 2]}
    assert detail(details, "a.b") == "1"  # the literal key first
    assert detail(details, "a.c.d") == "true"
    assert detail(details, "a.x") is None and detail(details, "n") is None
    assert detail(details, "l") == "[1, 2]"
    assert detail(["a"], "a") is None


def test_group_keys() -> None:
    alert = facts(group="web", class_="http-5xx", details={"region": "eu"})
    # Default: the service and the alert's group; an alert with neither is not grouped.
    assert group_key(None, alert, "checkout") == '[["service","checkout"],["group","web"]]'
    assert group_key(None, facts(), "checkout") == '[["service","checkout"]]'
    assert group_key(None, facts(), None) is None
    assert group_key(None, facts(group="web"), None) == '[["service",null],["group","web"]]'
    # group_by names fields; different values are different groups.
    by_region = group_key(["class", "details.region"], alert, "checkout")
    assert by_region == '[["service","checkout"],["class","http-5xx"],["details.region","eu"]]'
    other = facts(group="web", class_="http-5xx", details={"region": "us"})
    assert group_key(["class", "details.region"], other, "checkout") != by_region
    assert group_key([], alert, "checkout") == '[["service","checkout"]]'
    # Too long to store: a hash, still one per group.
    long = facts(summary="x" * 400)
    hashed = group_key(["summary"], long, "checkout")
    assert hashed is not None and hashed.startswith("sha256:") and len(hashed) <= MAX_GROUP_KEY
    assert hashed == group_key(["summary"], long, "checkout")


def test_a_route_without_group_by_groups_by_service_and_group() -> None:
    p = policy()
    decision = decide(p, facts(summary="slow", group="frontend"))
    assert decision.group_key == '[["service","web"],["group","frontend"]]'


# --- the checks ---------------------------------------------------------------------------


def problems(extra: str) -> list[tuple[str, str]]:
    _, found = parse_policy(DEFAULT_POLICY + ALERTS_POLICY + extra, "p.yaml")
    return [(p.path, p.message) for p in found]


@pytest.mark.parametrize(
    ("routes", "where", "says"),
    [
        ("- {severity: SEV9}", "alerts.routes[0].severity", "unknown severity 'SEV9'"),
        ("- {type: fire}", "alerts.routes[0].type", "unknown incident type 'fire'"),
        ("- {team: nope}", "alerts.routes[0].team", "unknown team 'nope'"),
        (
            "- {components: [api, nope]}",
            "alerts.routes[0].components[1]",
            "unknown component 'nope'",
        ),
        (
            "- {match: {integration: grafana}}",
            "alerts.routes[0].match.integration",
            "unknown integration 'grafana' (known: prometheus)",
        ),
        (
            "- {match: {severity: [critical, crit]}}",
            "alerts.routes[0].match.severity[1]",
            "unknown alert severity 'crit' (known: critical, error, info, warning)",
        ),
        (
            "- {match: [{source: a}, {severity: high}]}",
            "alerts.routes[0].match[1].severity",
            "unknown alert severity 'high'",
        ),
        (
            "- {match: {summary: '(unclosed'}}",
            "alerts.routes[0].match.summary",
            "bad regular expression '(unclosed'",
        ),
        (
            "- {match: {details: {code: {regex: '[a-'}}}}",
            "alerts.routes[0].match.details.code.regex",
            "bad regular expression '[a-'",
        ),
        (
            "- {match: {source: {}}}",
            "alerts.routes[0].match.source",
            "give a value, a list of values or {regex: ...}",
        ),
        (
            "- {match: {source: {regexp: a}}}",
            "alerts.routes[0].match.source.regexp",
            "unknown key",
        ),
        ("- {match: {host: a}}", "alerts.routes[0].match.host", "unknown key"),
        (
            "- {action: ignore, severity: SEV1}",
            "alerts.routes[0]",
            "an 'ignore' route opens no incident; drop severity",
        ),
        ("- {action: page}", "alerts.routes[0].action", "'incident' or 'ignore'"),
        (
            "- {group_by: [host]}",
            "alerts.routes[0].group_by[0]",
            "unknown alert field 'host' (known: integration, source",
        ),
        ("- {group_window: 2bd}", "alerts.routes[0].group_window", "not business days"),
        (
            "- {match: {}, severity: SEV1}\n    - {severity: SEV2}",
            "alerts.routes[1]",
            "never used: routes[0] before it takes every alert",
        ),
        (
            "- {name: a}\n    - {name: a, match: {source: x}}",
            "alerts.routes[1].name",
            "duplicate name 'a' (routes[0])",
        ),
    ],
)
def test_bad_routes_are_named_with_their_place(routes: str, where: str, says: str) -> None:
    found = problems(f"alerts:\n  routes:\n    {routes}\n")
    assert any(path == where and says in message for path, message in found), found


@pytest.mark.parametrize(
    ("windows", "where", "says"),
    [
        (
            "- {service: checkout, starts: '2026-02-01 22:00', ends: '2026-02-01 21:00'}",
            "alerts.maintenance[0].ends",
            "must end after it starts",
        ),
        (
            "- {service: checkout, starts: 'tonight', ends: '2026-02-01 21:00'}",
            "alerts.maintenance[0].starts",
            "datetime",
        ),
        (
            "- {key: a, service: x, starts: 2026-02-01T22:00Z, ends: 2026-02-01T23:00Z}\n"
            "    - {key: a, service: y, starts: 2026-02-01T22:00Z, ends: 2026-02-01T23:00Z}",
            "alerts.maintenance[1].key",
            "duplicate key 'a'",
        ),
        (
            "- {starts: 2026-02-01T22:00Z, ends: 2026-02-01T23:00Z}",
            "alerts.maintenance[0].service",
            "required",
        ),
    ],
)
def test_bad_maintenance_windows_are_named(windows: str, where: str, says: str) -> None:
    found = problems(f"alerts:\n  maintenance:\n    {windows}\n")
    assert any(path == where and says in message for path, message in found), found


def test_maintenance_times_without_a_zone_are_in_the_policy_time_zone() -> None:
    p = policy(
        "alerts:\n  maintenance:\n"
        "    - {service: checkout, starts: '2026-07-01 22:00', ends: 2026-07-02 01:00:00}\n"
        "    - {service: api, starts: 2026-07-01T22:00:00+00:00, ends: 2026-07-01T23:00Z}\n"
    )
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Amsterdam")
    local, utc = (w.span(zone) for w in p.alerts.maintenance)
    assert local == (
        datetime(2026, 7, 1, 20, 0, tzinfo=UTC),
        datetime(2026, 7, 1, 23, 0, tzinfo=UTC),
    )
    assert utc == (datetime(2026, 7, 1, 22, 0, tzinfo=UTC), datetime(2026, 7, 1, 23, 0, tzinfo=UTC))


def test_a_good_routes_section_has_no_problems() -> None:
    assert problems(ROUTES) == []
