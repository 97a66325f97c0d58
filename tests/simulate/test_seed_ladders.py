"""Each seed's escalation matrix, as its example policy expresses it, run by the engine."""

from __future__ import annotations

from pathlib import Path

from tocsin.simulate.runner import Effect, simulate
from tocsin.simulate.scenario import load_scenario

POLICIES = Path(__file__).resolve().parent.parent.parent / "examples" / "policies"
SEED = {
    0: POLICIES / "seed-000-arabisch-online-leren.yaml",
    1: POLICIES / "seed-001-incident-response-procedures.yaml",
    2: POLICIES / "seed-002-incident-response-runbook.yaml",
    3: POLICIES / "seed-003-incident-response-procedures.yaml",
    4: POLICIES / "seed-004-incident-response.yaml",
}
Row = tuple[str, str, str, list[str]]


async def run(seed: int, scenario: str, *kinds: str) -> list[Row]:
    effects = await simulate(SEED[seed].read_text(encoding="utf-8"), load_scenario(scenario))
    return [_row(e) for e in effects if e.kind in kinds]


def _row(effect: Effect) -> Row:
    minutes = int(effect.offset.total_seconds() // 60)
    return (f"+{minutes}m", effect.kind, effect.target, effect.resolved_to)


async def test_seed_003_ack_at_3_minutes_stops_p0_before_the_engineering_manager() -> None:
    found = await run(
        3,
        """
start: 2026-02-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: P0, title: "Application completely down"}}
  - {at: 3m, ack: {by: oncall.primary}}
until: 59m
""",
        "page",
        "task",
    )
    assert found == [("+0m", "page", "schedule:primary", ["oncall.primary"])]


async def test_seed_003_p0_matrix_when_nobody_answers() -> None:
    found = await run(
        3,
        """
start: 2026-02-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: P0, title: "Application completely down"}}
until: 61m
""",
        "page",
        "task",
    )
    assert found == [
        ("+0m", "page", "schedule:primary", ["oncall.primary"]),
        ("+5m", "page", "role:engineering-manager", ["eng.manager"]),
        ("+15m", "page", "role:vp-engineering", ["vp.engineering"]),
        ("+30m", "page", "team:executive", ["vp.engineering", "exec"]),
        ("+60m", "task", "role:communications-lead", ["comms.lead"]),
    ]


async def test_seed_003_p1_matrix() -> None:
    found = await run(
        3,
        """
start: 2026-02-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: P1, title: "Authentication broken"}}
  - {at: 10m, ack: {by: oncall.primary}}
until: 5h
""",
        "page",
        "task",
    )
    assert found == [
        ("+0m", "page", "schedule:primary", ["oncall.primary"]),
        ("+30m", "page", "role:engineering-manager", ["eng.manager"]),
        ("+120m", "page", "role:vp-engineering", ["vp.engineering"]),
        ("+240m", "task", "role:communications-lead", ["comms.lead"]),
    ]


SATURDAY_NIGHT_P1 = """
start: 2026-03-28T23:30:00+01:00
events:
  - {at: 0m, declare: {severity: P1, title: "Inloggen faalt voor alle gebruikers"}}
until: 40m
"""


async def test_seed_000_saturday_night_p1_on_call_then_team_lead_then_cto() -> None:
    found = await run(0, SATURDAY_NIGHT_P1, "page")
    assert found == [
        ("+0m", "page", "schedule:primary", ["on-call-engineer"]),
        ("+10m", "page", "schedule:secondary", ["dev-team-lead"]),
        ("+30m", "page", "role:cto", ["cto"]),
    ]


async def test_seed_000_p1_acknowledged_and_identified_in_time_pages_only_primary() -> None:
    found = await run(
        0,
        """
start: 2026-03-28T23:30:00+01:00
events:
  - {at: 0m, declare: {severity: P1, title: "Inloggen faalt"}}
  - {at: 4m, ack: {by: on-call-engineer}}
  - {at: 20m, status: {to: identified, by: on-call-engineer}}
until: 40m
""",
        "page",
    )
    assert found == [("+0m", "page", "schedule:primary", ["on-call-engineer"])]


async def test_seed_000_office_hours_p1_pages_the_day_rotation() -> None:
    found = await run(
        0,
        """
start: 2026-03-31T10:00:00+02:00
events:
  - {at: 0m, declare: {severity: P1, title: "Lessen laden niet"}}
until: 15m
""",
        "page",
    )
    assert found == [
        ("+0m", "page", "schedule:primary", ["dev-team-lead"]),
        ("+10m", "page", "schedule:secondary", ["senior-developer"]),
    ]


async def test_seed_002_lead_at_15_cto_at_30_then_secondary_contacts() -> None:
    found = await run(
        2,
        """
start: 2026-02-17T14:00:00Z
events:
  - {at: 0m, declare: {severity: P0, title: "Site completely down"}}
until: 2h
""",
        "page",
        "notify",
    )
    assert found == [
        ("+0m", "page", "role:on-call-engineer", ["on-call"]),
        ("+15m", "page", "role:engineering-lead", ["engineering-lead"]),
        ("+30m", "page", "role:cto", ["cto"]),
        ("+60m", "notify", "role:devops-engineer", ["devops"]),
        ("+60m", "notify", "role:security-engineer", ["security"]),
        ("+120m", "notify", "role:legal-compliance", ["legal"]),
    ]


async def test_seed_004_sev1_commander_executives_cto_and_hourly_updates() -> None:
    found = await run(
        4,
        """
start: 2026-02-10T10:00:00-05:00
events:
  - {at: 0m, declare: {severity: SEV1, title: "Scores not saving"}}
  - {at: 3m, ack: {by: oncall.primary}}
until: 2h
""",
        "page",
        "notify",
        "reminder",
        "escalate",
    )
    on_call = ("+0m", "page", "schedule:on-call")
    assert found[0][:3] == on_call and len(found[0][3]) == 1
    assert found[1:] == [
        ("+10m", "reminder", "user:oncall.primary", ["oncall.primary"]),  # no commander yet
        ("+20m", "escalate", "role:incident-commander", ["tech.lead"]),
        ("+30m", "notify", "team:executive", ["cto", "ceo"]),
        ("+30m", "notify", "role:head-of-customer-success", ["customer.success"]),
        ("+30m", "notify", "role:product-manager", ["comms"]),
        # communications-coordinator deadline (30m): reminded, no escalation configured
        ("+30m", "reminder", "user:oncall.primary", ["oncall.primary"]),
        ("+60m", "reminder", "role:communications-coordinator", ["comms"]),  # hourly update due
        ("+120m", "page", "role:cto-vp-engineering", ["cto"]),
        ("+120m", "reminder", "role:communications-coordinator", ["comms"]),
    ]


async def test_seed_001_team_notification_by_severity() -> None:
    p0 = await run(
        1,
        "start: 2026-02-17T14:00:00+01:00\n"
        "events:\n  - {at: 0m, declare: {severity: P0, title: Platform plat}}\nuntil: 30m\n",
        "page",
    )
    assert p0 == [
        (
            "+0m",
            "page",
            "team:primary-response-team",
            ["team-lead", "technical-lead", "security-lead", "communications-lead"],
        )
    ]
    p1 = await run(
        1,
        "start: 2026-02-17T14:00:00+01:00\n"
        "events:\n  - {at: 0m, declare: {severity: P1, title: Login traag}}\nuntil: 30m\n",
        "page",
    )
    assert p1 == [
        ("+0m", "page", "role:technical-lead", ["technical-lead"]),
        ("+15m", "page", "role:team-lead", ["team-lead"]),
    ]
