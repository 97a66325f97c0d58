"""``tocsin simulate``: the real engine under a virtual clock, printed as JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tocsin.cli.main import app

POLICY = Path(__file__).resolve().parent.parent / "escalation" / "policy.yaml"


def run(tmp_path: Path, scenario: str, *extra: str, code: int = 0) -> list[dict[str, Any]]:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario, encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", "--policy", str(POLICY), str(path), *extra])
    assert result.exit_code == code, result.stdout + result.stderr + repr(result.exception)
    if code:
        return [{"stderr": result.stderr}]
    return [json.loads(line) for line in result.stdout.splitlines()]


def brief(lines: list[dict[str, Any]], *kinds: str) -> list[tuple[str, str, str, list[str]]]:
    return [
        (e["offset"], e["kind"], e["target"], e["resolved_to"])
        for e in lines
        if not kinds or e["kind"] in kinds
    ]


def test_acknowledgement_at_3_minutes_stops_the_p0_ladder(tmp_path: Path) -> None:
    lines = run(
        tmp_path,
        """
start: 2026-01-15T10:00:00+01:00
events:
  - {at: 0m, declare: {severity: P0, title: "Site down"}}
  - {at: 3m, ack: {by: olly}}
  - {at: 2h, status: resolved}
until: 4h
""",
    )
    assert brief(lines, "page") == [("+0m", "page", "schedule:primary", ["olly"])]
    page = next(e for e in lines if e["kind"] == "page")
    assert page == {
        "at": "2026-01-15T10:00:00+01:00",
        "offset": "+0m",
        "kind": "page",
        "target": "schedule:primary",
        "resolved_to": ["olly"],
        "via": ["sms", "voice"],
        "reason": "p0 escalation step 1: not acknowledged",
    }
    statuses = [e["reason"] for e in lines if e["kind"] == "status"]
    assert statuses[0].startswith("Declared INC-2026-01-15-001 (P0 Critical)")
    assert any("Acknowledged by Olly" in s for s in statuses)
    after_resolution = [e for e in lines if e["at"] > "2026-01-15T12:00:00+01:00"]
    assert after_resolution == []


def test_unacknowledged_p0_in_order_with_reminders(tmp_path: Path) -> None:
    lines = run(
        tmp_path,
        """
start: 2026-01-15T10:00:00+01:00
events:
  - {at: 0m, declare: {severity: P0, title: "Site down"}}
until: 61m
""",
    )
    assert brief(lines, "page", "notify", "task", "escalate", "sla_warning", "sla_breach") == [
        ("+0m", "page", "schedule:primary", ["olly"]),
        ("+4m", "sla_warning", "schedule:primary", ["olly"]),
        ("+5m", "page", "role:engineering-manager", ["dana"]),
        ("+5m", "sla_breach", "role:engineering-manager", ["dana"]),
        ("+15m", "page", "user:vp", ["vp"]),
        ("+20m", "escalate", "user:vp", ["vp"]),  # still no incident commander
        ("+30m", "notify", "team:executives", ["ceo"]),
        ("+1h", "task", "role:communications-coordinator", ["cora"]),
    ]


def test_times_follow_the_policy_zone_across_the_dst_change(tmp_path: Path) -> None:
    lines = run(
        tmp_path,
        """
start: 2026-03-29T01:30:00+01:00
events:
  - {at: 0m, declare: {severity: P0, title: "Site down"}}
until: 31m
""",
        "--kind",
        "page",
        "--kind",
        "notify",
    )
    assert [(e["at"], e["offset"]) for e in lines] == [
        ("2026-03-29T01:30:00+01:00", "+0m"),
        ("2026-03-29T01:35:00+01:00", "+5m"),
        ("2026-03-29T01:45:00+01:00", "+15m"),
        ("2026-03-29T03:00:00+02:00", "+30m"),  # 02:00 CET became 03:00 CEST
    ]


def test_severity_change_keeps_elapsed_time(tmp_path: Path) -> None:
    lines = run(
        tmp_path,
        """
start: 2026-01-15T10:00:00+01:00
events:
  - {at: 0m, declare: {severity: P1, title: "Login slow"}}
  - {at: 20m, severity: {to: P0, reason: "all users"}}
until: 31m
""",
        "--kind",
        "page",
        "--kind",
        "notify",
    )
    assert [(e["offset"], e["target"]) for e in lines] == [
        ("+0m", "schedule:primary"),
        ("+20m", "role:engineering-manager"),
        ("+20m", "user:vp"),
        ("+30m", "team:executives"),
    ]


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (
            "start: 2026-01-15T10:00:00+01:00\nevents:\n  - {at: 0m, declare: {severity: P9}}\n",
            "event at +0m: unknown severity 'P9'",
        ),
        (
            "start: 2026-01-15T10:00:00\nevents:\n  - {at: 0m, declare: {severity: P0}}\n",
            "start: Value error, start needs a UTC offset",
        ),
        (
            "start: 2026-01-15T10:00:00+01:00\nevents:\n  - {at: soon, ack: {}}\n",
            "events.0.at",
        ),
        (
            "start: 2026-01-15T10:00:00+01:00\nevents:\n  - {at: 1m, ack: {by: nobody}}\n",
            "no incident yet",
        ),
    ],
)
def test_bad_scenarios_say_what_is_wrong(tmp_path: Path, scenario: str, message: str) -> None:
    [failure] = run(tmp_path, scenario, code=1)
    assert message in failure["stderr"]
