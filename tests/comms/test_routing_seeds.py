"""Each seed's communication rules, as its example policy routes them, run by the engine
(``tocsin simulate``: the real services and jobs, a virtual clock, nothing sent)."""

from __future__ import annotations

from pathlib import Path

from tocsin.simulate.runner import simulate
from tocsin.simulate.scenario import load_scenario

POLICIES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SEED = {
    0: POLICIES / "seed-000-arabisch-online-leren.yaml",
    1: POLICIES / "seed-001-incident-response-procedures.yaml",
    2: POLICIES / "seed-002-incident-response-runbook.yaml",
    3: POLICIES / "seed-003-incident-response-procedures.yaml",
    4: POLICIES / "seed-004-incident-response.yaml",
}
Row = tuple[str, str, list[str], list[str]]


async def routes(seed: int, scenario: str) -> list[Row]:
    """(offset, route, recipients, channels) of each route that fired."""
    effects = await simulate(SEED[seed].read_text(encoding="utf-8"), load_scenario(scenario))
    return [
        (f"+{int(e.offset.total_seconds() // 60)}m", e.target, e.resolved_to, e.via)
        for e in effects
        if e.kind == "comms"
    ]


async def test_seed_004_sev1_matrix() -> None:
    found = await routes(
        4,
        """
start: 2026-03-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: SEV1, title: "Scores are not saving"}}
  - {at: 30m, update: "Neon failover in progress"}
until: 61m
""",
    )
    assert found == [
        ("+0m", "route:incidents-declared", ["#incidents"], ["slack-incidents"]),
        (
            "+0m",
            "route:critical-declared",
            ["#incidents-critical", "oncall.weekday2", "cto", "ceo"],  # SMS: on call, execs
            ["slack-incidents-critical", "sms"],
        ),
        (
            "+0m",
            "route:status-page-investigating",
            ["status-page", "in-app-banner"],
            ["status-page", "in-app-banner"],
        ),
        ("+30m", "route:incidents-updates", ["#incidents"], ["slack-incidents"]),
        ("+30m", "route:critical-updates", ["#incidents-critical"], ["slack-incidents-critical"]),
        (
            "+60m",
            "route:all-subscribers-1h",
            ["all-subscribers@lists.musiclearningcommunity.com"],
            ["email"],
        ),
    ]


async def test_seed_004_sev2_affected_subscribers_after_4_hours_unless_resolved() -> None:
    scenario = """
start: 2026-03-17T14:00:00Z
events:
  - {{at: 0m, declare: {{severity: SEV2, title: "Reports are not generating"}}}}
  - {{at: {resolve}, status: resolved}}
until: 5h
"""
    late = await routes(4, scenario.format(resolve="4h30m"))
    assert [(at, route) for at, route, _, _ in late] == [
        ("+0m", "route:incidents-declared"),
        ("+0m", "route:major-declared"),
        ("+0m", "route:status-page-investigating"),
        ("+240m", "route:affected-subscribers-4h"),
        ("+270m", "route:incidents-resolved"),
        ("+270m", "route:major-resolved"),
        ("+270m", "route:status-page-resolved"),
    ]
    early = await routes(4, scenario.format(resolve="3h"))
    assert "route:affected-subscribers-4h" not in [route for _, route, _, _ in early]


async def test_seed_004_sev3_goes_to_incidents_only_and_sev4_to_the_issue_tracker() -> None:
    found = await routes(
        4,
        """
start: 2026-03-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: SEV3, title: "Leaderboard off by one"}}
  - {at: 1m, declare: {severity: SEV4, title: "Typo in the help text"}}
until: 6h
""",
    )
    assert [(at, route) for at, route, _, _ in found] == [
        ("+0m", "route:incidents-declared"),
        ("+1m", "route:issue-tracker"),
    ]


async def test_seed_004_mitigation_proposals_go_where_the_response_works() -> None:
    scenario = """
start: 2026-03-17T14:00:00Z
events:
  - {{at: 0m, declare: {{severity: {severity}, title: "Scores are not saving"}}}}
  - {{at: 20m, mitigation: {{action: "Rollback to v1.2.3", risk: Low, by: oncall.primary}}}}
  - {{at: 25m, mitigation: "Enable the score-queue feature flag"}}
until: 30m
"""
    expected = {
        "SEV1": ["route:incidents-mitigation-proposed", "route:critical-mitigation-proposed"],
        "SEV2": ["route:incidents-mitigation-proposed", "route:major-mitigation-proposed"],
        "SEV3": ["route:incidents-mitigation-proposed"],
        "SEV4": [],
    }
    for severity, proposed in expected.items():
        found = await routes(4, scenario.format(severity=severity))
        assert [(at, route) for at, route, _, _ in found if "mitigation" in route] == [
            *(("+20m", route) for route in proposed),
            *(("+25m", route) for route in proposed),
        ], severity


async def test_seed_003_alert_routing() -> None:
    scenario = """
start: 2026-02-17T14:00:00Z
events:
  - {{at: 0m, declare: {{severity: {severity}, title: "Checkout errors"}}}}
until: 10m
"""
    high = await routes(3, scenario.format(severity="P1"))
    assert [(route, via) for _, route, _, via in high] == [
        ("route:incidents-declared", ["slack-incidents"]),  # high: Slack channel ...
        ("route:p1-email", ["email"]),  # ... + e-mail, to engineering and product
    ]
    medium = await routes(3, scenario.format(severity="P2"))
    assert [route for _, route, _, _ in medium] == ["route:incidents-declared"]
    low = await routes(3, scenario.format(severity="P3"))
    assert [(route, via) for _, route, _, via in low] == [("route:p3-ticket", ["ticket-system"])]


async def test_seed_000_p0_slack_status_page_and_customer_email_on_time() -> None:
    found = await routes(
        0,
        """
start: 2026-03-28T23:30:00+01:00
events:
  - {at: 0m, declare: {severity: P0, title: "Platform onbereikbaar"}}
  - {at: 20m, update: "Rollback gestart"}
  - {at: 90m, status: resolved}
until: 2h
""",
    )
    assert [(at, route) for at, route, _, _ in found] == [
        ("+0m", "route:slack-incident-start"),
        ("+15m", "route:statuspagina-15m"),
        ("+20m", "route:slack-progress-update"),
        ("+60m", "route:klantmail-1h"),
        ("+90m", "route:slack-resolution"),
    ]


async def test_seed_002_status_page_follows_each_stage() -> None:
    found = await routes(
        2,
        """
start: 2026-02-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: P2, title: "Courses load slowly"}}
  - {at: 10m, status: identified}
  - {at: 20m, status: monitoring}
  - {at: 30m, status: resolved}
until: 40m
""",
    )
    assert [route for _, route, _, via in found if via == ["status-page"]] == [
        "route:status-investigating",
        "route:status-identified",
        "route:status-monitoring",
        "route:status-resolved",
    ]
    assert "route:customer-email" not in [route for _, route, _, _ in found]  # P0/P1 only


async def test_seed_001_internal_and_external_messages_by_e_mail() -> None:
    found = await routes(
        1,
        """
start: 2026-02-17T14:00:00+01:00
events:
  - {at: 0m, declare: {severity: P1, title: "Inloggen traag"}}
  - {at: 30m, status: resolved}
until: 1h
""",
    )
    assert [(at, route) for at, route, _, _ in found] == [
        ("+0m", "route:interne-melding"),
        ("+0m", "route:externe-status-investigating"),
        ("+30m", "route:interne-opgelost"),
        ("+30m", "route:externe-status-resolved"),
    ]
