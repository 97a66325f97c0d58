"""``tocsin oncall ...`` with direct database access: seed 000 (Europe/Amsterdam), whose
office hours (Mon-Fri 09:00-18:00) stay 09:00-18:00 across the spring-forward night of
Sunday 29 March 2026. The CLI runs on the real clock, so tests name their times."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner, Result

from tocsin.cli.main import app

POLICIES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SEED_000 = POLICIES / "seed-000-arabisch-online-leren.yaml"
Run = Callable[..., Result]
RunJson = Callable[..., Any]
LEAD = "Dev Team Lead (voorbeeld) (dev-team-lead)"
ENGINEER = "On-Call Engineer (voorbeeld) (on-call-engineer)"


@pytest.fixture
def seed_000(cli: Run) -> Run:
    cli("policy", "apply", str(SEED_000))
    return cli


def test_oncall_at_a_time_in_the_schedules_zone(seed_000: Run, cli_json: RunJson) -> None:
    before = seed_000("oncall", "at", "2026-03-30T08:59").stdout
    assert before.startswith("At Mon 2026-03-30 08:59 CEST:")
    lines = before.splitlines()
    assert lines[1].split() == ["schedule", "on", "call", "until", "zone"]
    assert lines[3].startswith("primary") and ENGINEER in lines[3]
    assert "Mon 2026-03-30 09:00 CEST" in lines[3] and "Europe/Amsterdam" in lines[3]
    assert lines[4].startswith("secondary") and LEAD in lines[4]

    office = cli_json("oncall", "at", "2026-03-30T09:00", "primary")
    assert [r["schedule"] for r in office] == ["primary"]
    assert [p["handle"] for p in office[0]["people"]] == ["dev-team-lead"]
    assert office[0]["at"] == "2026-03-30T07:00:00Z"  # 09:00 CEST
    assert office[0]["until"] == "2026-03-30T16:00:00Z"  # 18:00 CEST
    utc = cli_json("oncall", "at", "2026-03-30T07:00:00Z", "primary")
    assert utc == office


def test_oncall_now(seed_000: Run, cli_json: RunJson) -> None:
    rows = cli_json("oncall", "now")
    assert [r["schedule"] for r in rows] == ["primary", "secondary"]
    assert all(len(r["people"]) == 1 for r in rows)
    table = seed_000("oncall", "now", "secondary").stdout.splitlines()
    assert len(table) == 3 and table[2].startswith("secondary")


def test_oncall_show_a_table_of_shifts_across_spring_forward(seed_000: Run) -> None:
    out = seed_000("oncall", "show", "primary", "--from", "2026-03-27", "--to", "2026-03-31")
    lines = out.stdout.splitlines()
    assert lines[0] == "Shifts of Primary On-Call (primary), times in Europe/Amsterdam"
    assert lines[1] == "Fri 2026-03-27 00:00 CET -> Tue 2026-03-31 00:00 CEST"
    rows = [line.split("  ") for line in lines[5:]]
    assert [line.split()[:3] for line in lines[5:]] == [
        ["Fri", "2026-03-27", "00:00"],
        ["Fri", "2026-03-27", "09:00"],
        ["Fri", "2026-03-27", "18:00"],
        ["Mon", "2026-03-30", "09:00"],
        ["Mon", "2026-03-30", "18:00"],
    ]
    weekend = lines[7]
    assert "Fri 2026-03-27 18:00 CET" in weekend and "Mon 2026-03-30 09:00 CEST" in weekend
    assert "2d14h" in weekend and ENGINEER in weekend  # 63 wall-clock hours, 62 real ones
    assert LEAD in lines[8] and "9h" in lines[8]
    assert len(rows) == 5


def test_oncall_show_a_person_and_json(seed_000: Run, cli_json: RunJson) -> None:
    found = cli_json(
        "oncall", "show", "--person", "dev-team-lead", "--from", "2026-03-27", "--to", "2026-03-28"
    )
    assert [s["schedule"] for s in found["shifts"]] == ["secondary", "primary", "secondary"]
    text = seed_000("oncall", "show", "-p", "dev-team-lead@example.nl", "--from", "2026-03-27")
    assert text.stdout.startswith(f"Shifts of {LEAD}, times in Europe/Amsterdam")
    assert "schedule" in text.stdout.splitlines()[3]
    both = seed_000("oncall", "show", "primary", "--person", "x", code=2)
    assert "give a SCHEDULE or --person" in both.stderr


def test_oncall_list(seed_000: Run) -> None:
    out = seed_000("oncall", "list").stdout
    assert "primary: Primary On-Call  (Europe/Amsterdam)" in out
    assert "on call during business hours (mon-fri 09:00-18:00)" in out


def test_overrides_from_the_command_line(seed_000: Run, cli_json: RunJson) -> None:
    added = seed_000(
        "oncall", "override", "add", "primary",
        "--person", "senior-developer", "--replaces", "dev-team-lead",
        "--from", "2027-03-29T09:00", "--to", "2027-03-29T18:00", "--reason", "holiday",
    ).stdout  # fmt: skip
    assert added.startswith("Override 1 on primary: Senior Developer (voorbeeld)")
    assert "instead of Dev Team Lead (voorbeeld) (dev-team-lead)" in added
    assert "Mon 2027-03-29 09:00 CEST -> Mon 2027-03-29 18:00 CEST" in added
    at = cli_json("oncall", "at", "2027-03-29T12:00", "primary")
    assert [p["handle"] for p in at[0]["people"]] == ["senior-developer"]

    listed = seed_000("oncall", "override", "list").stdout.splitlines()
    assert listed[0].split()[:4] == ["id", "schedule", "action", "person"]
    assert listed[2].split()[:3] == ["1", "primary", "replace"] and "holiday" in listed[2]
    assert cli_json("oncall", "override", "list", "secondary") == []

    assert seed_000("oncall", "override", "cancel", "1").stdout.strip() == (
        "Override 1 on primary cancelled"
    )
    assert cli_json("oncall", "override", "list") == []
    (cancelled,) = cli_json("oncall", "override", "list", "--cancelled")
    assert cancelled["cancelled_by"] == "system"


def test_override_refusals_and_errors(seed_000: Run) -> None:
    seed_000("user", "add", "viewer@example.com")
    args = ("--from", "2027-03-29T09:00", "--to", "2027-03-29T18:00")
    denied = seed_000(
        "oncall", "override", "add", "primary", "--person", "senior-developer", *args,
        as_user="viewer@example.com", code=1,
    )  # fmt: skip
    assert "lacks the permission 'manage-schedules'" in denied.stderr
    # The senior developer may take the shift themselves.
    seed_000(
        "oncall", "override", "add", "primary", "--person", "senior-developer", *args,
        as_user="senior-developer@example.nl",
    )  # fmt: skip
    unknown = seed_000("oncall", "override", "add", "nope", "--person", "x", *args, code=1)
    assert "no schedule 'nope'" in unknown.stderr
    bad = seed_000(
        "oncall", "override", "add", "primary", "--person", "senior-developer",
        "--from", "2027-03-29T18:00", "--to", "2027-03-29T09:00", code=1,
    )  # fmt: skip
    assert "end (2027-03-29T07:00:00+00:00) must be after start" in bad.stderr
    missing = seed_000("oncall", "override", "cancel", "42", code=1)
    assert "no override 42" in missing.stderr


def test_feed_prints_a_secret_path(seed_000: Run, cli_json: RunJson) -> None:
    out = seed_000("oncall", "feed", "primary").stdout.splitlines()
    assert out[0].startswith("Calendar feed 1 for schedule primary.")
    assert out[1].startswith("/api/v1/ical/tcf_") and out[1].endswith(".ics")
    made = cli_json("oncall", "feed", "--person", "dev-team-lead")
    assert (made["kind"], made["subject"]) == ("person", "dev-team-lead")
    feeds = seed_000("oncall", "feeds").stdout
    assert "schedule  primary" in feeds and "tcf_" not in feeds
    assert "revoked" in seed_000("oncall", "revoke-feed", "1").stdout
    assert seed_000("oncall", "feed", code=2).stderr.startswith("error: give a SCHEDULE")


def test_no_schedules_is_explained(cli: Run) -> None:
    cli("policy", "apply", str(POLICIES / "default.yaml"))
    assert "has no schedules" in cli("oncall", "now").stdout
    assert json.loads(cli("oncall", "list", "--json").stdout) == []


def _oncall_commands() -> list[tuple[str, ...]]:
    group: Any = typer.main.get_command(app).commands["oncall"]  # type: ignore[attr-defined]
    found = []
    for name, command in group.commands.items():
        subs = getattr(command, "commands", None) or {}
        found += [("oncall", name, sub) for sub in subs] or [("oncall", name)]
    return found


@pytest.mark.parametrize("path", _oncall_commands(), ids=" ".join)
def test_every_oncall_command_explains_itself(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"TOCSIN_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert (command.help or "").strip(), path
    for param in command.params:
        assert param.name == "help" or getattr(param, "help", None), (path, param.name)


def test_the_commands_the_issue_names_exist() -> None:
    names = {" ".join(p) for p in _oncall_commands()}
    assert {
        "oncall now", "oncall at", "oncall show", "oncall override add",
        "oncall override list", "oncall override cancel", "oncall feed",
    } <= names  # fmt: skip
