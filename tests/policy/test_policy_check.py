"""``tocsin policy check``: the example policies pass, broken ones get precise problems.

Every problem names the file, the line and the path inside the policy, and says what is
wrong, on stderr and in ``--json``.
"""

from __future__ import annotations

import json
import re
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tocsin.bootstrap import default_policy_text
from tocsin.cli.main import app
from tocsin.policy.loader import load_policy_file, parse_policy
from tocsin.policy.schema import Policy
from tocsin.policy.spans import Span

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "policies"
PACKAGED_DEFAULT = ROOT / "src" / "tocsin" / "policy" / "default.yaml"


def _policy_files() -> list[Path]:
    """Every example policy plus the packaged default, each file once (symlinks resolved)."""
    found: dict[Path, Path] = {}
    for path in [*sorted(EXAMPLES.glob("*.yaml")), PACKAGED_DEFAULT]:
        found.setdefault(path.resolve(), path)
    return list(found.values())


POLICY_FILES = _policy_files()


def check(*args: str) -> Result:
    return CliRunner().invoke(app, ["policy", "check", *args], env={"TOCSIN_DATABASE_URL": None})


def load(name: str) -> Policy:
    return load_policy_file(EXAMPLES / name)[1]


# --- the shipped policies -----------------------------------------------------------------


def test_the_examples_are_found() -> None:
    names = {p.name for p in POLICY_FILES}
    assert PACKAGED_DEFAULT.resolve() in {p.resolve() for p in POLICY_FILES}
    for seed in ("seed-000", "seed-001", "seed-004"):
        assert any(n.startswith(seed) for n in names), names


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_every_shipped_policy_passes_the_check(path: Path) -> None:
    result = check(str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith(f"{path}: OK (")
    report = json.loads(check(str(path), "--json").stdout)
    assert report == {"file": str(path), "valid": True, "problems": []}

    _, policy = load_policy_file(path)
    assert policy.organization.name.strip()
    assert policy.severities and policy.roles and policy.checklists
    hours = policy.organization.business_hours
    assert time(6) <= hours.start < hours.end <= time(20)
    for severity in policy.severities:
        assert severity.name.strip()
        for stage in ("acknowledge", "identify", "mitigate", "resolve"):
            target = getattr(severity.sla, stage)
            if target is not None:
                assert target.within.time > timedelta(0) or target.within.business_days > 0


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_every_shipped_policy_has_roles_that_send_communications(path: Path) -> None:
    _, policy = load_policy_file(path)
    assert "send-communications" not in policy.everyone
    assert [r.key for r in policy.roles if "send-communications" in r.permissions], path.name


def test_seed_004_communicators_send() -> None:
    """Seed 004: the Communication Coordinator sends stakeholder notifications, the Incident
    Commander ensures stakeholder updates (and the summary e-mail), the SysAdmin holds every
    permission of the matrix; the on-call engineer does not send."""
    policy = load("seed-004-incident-response.yaml")
    senders = {r.key for r in policy.roles if "send-communications" in r.permissions}
    assert senders == {"communications-coordinator", "incident-commander", "sysadmin"}


def test_docs_list_every_top_level_key() -> None:
    docs = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    table = docs.split("\n## Top-level keys\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", table, re.M) == list(Policy.model_fields)


def test_all_shipped_policies_in_one_call() -> None:
    result = check(*map(str, POLICY_FILES), "--json")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [r["file"] for r in reports] == [str(p) for p in POLICY_FILES]
    assert all(r["valid"] and r["problems"] == [] for r in reports)


def test_packaged_default_is_what_bootstrap_applies() -> None:
    assert default_policy_text() == PACKAGED_DEFAULT.read_text(encoding="utf-8")
    policy, problems = parse_policy(default_policy_text(), "default.yaml")
    assert problems == [] and policy is not None


@pytest.mark.parametrize("prefix", ["seed-000", "seed-001"])
def test_dutch_seeds_are_dutch(prefix: str) -> None:
    (path,) = EXAMPLES.glob(f"{prefix}-*.yaml")
    organization = load_policy_file(path)[1].organization
    assert organization.locale == "nl"
    assert organization.timezone == "Europe/Amsterdam"


def test_seed_000_business_hours_run_to_six() -> None:
    (path,) = EXAMPLES.glob("seed-000-*.yaml")
    hours = load_policy_file(path)[1].organization.business_hours
    assert (hours.start, hours.end) == (time(9), time(18))
    assert hours.days == ["mon", "tue", "wed", "thu", "fri"]


def test_seed_004_content() -> None:
    policy = load("seed-004-incident-response.yaml")
    assert [s.key for s in policy.severities] == ["SEV1", "SEV2", "SEV3", "SEV4"]

    sla = policy.severities[0].sla
    assert sla.acknowledge is not None and sla.mitigate is not None and sla.resolve is not None
    assert (sla.acknowledge.within, sla.acknowledge.from_) == (
        Span(time=timedelta(minutes=5)),
        "detected",
    )
    assert (sla.mitigate.within, sla.mitigate.from_) == (
        Span(time=timedelta(minutes=30)),
        "acknowledged",
    )
    assert (sla.resolve.within, sla.resolve.from_) == (Span(time=timedelta(hours=4)), "mitigated")
    assert sla.identify is None
    assert not sla.acknowledge.business_hours

    sev3 = policy.severity("SEV3")
    assert sev3 is not None and sev3.sla.acknowledge is not None and sev3.sla.resolve is not None
    assert sev3.sla.acknowledge.business_hours is True
    assert sev3.sla.resolve.within == Span(business_days=3)
    sev4 = policy.severity("SEV4")
    assert sev4 is not None and sev4.sla.resolve is None

    commander = policy.role("incident-commander")
    assert commander is not None and commander.exclusive is True
    on_call = policy.role("on-call-engineer")
    assert on_call is not None and on_call.exclusive is False
    assert "acknowledge" in on_call.permissions
    assert [r.role for r in policy.severities[0].required_roles] == [
        "incident-commander",
        "communications-coordinator",
    ]
    assert policy.organization.locale == "en"


# --- broken policies ----------------------------------------------------------------------

BASE = """\
tocsin: 1
organization:
  name: Acme
  timezone: Europe/Amsterdam
  business_hours:
    days: [mon, tue, wed, thu, fri]
    start: 09:00
    end: 18:00
severities:
  - key: SEV1
    name: Critical
    sla:
      acknowledge: {within: 5m, from: detected}
      resolve: 4h
    required_roles:
      - role: incident-commander
        within: 10m
  - key: SEV2
    name: Major
roles:
  - key: incident-commander
    name: Incident Commander
    exclusive: true
    permissions: [acknowledge, update-status]
phases:
  - key: triage
    name: Triage
checklists:
  - key: first
    name: First steps
    phase: triage
    severities: [SEV1]
    items: [Page someone]
"""


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based number of the line holding ``fragment`` (its n-th occurrence)."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(hits) >= occurrence, f"{fragment!r} not in the policy"
    return hits[occurrence - 1]


def broken(tmp_path: Path, old: str, new: str, *, count: int = 1) -> tuple[Path, str]:
    assert BASE.count(old) >= count, old
    text = BASE.replace(old, new, count)
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def problems_of(path: Path) -> list[dict[str, Any]]:
    """Check ``path`` both ways; the stderr lines and the JSON must say the same."""
    result = check(str(path))
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    as_json = check(str(path), "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["file"] == str(path) and report["valid"] is False
    problems: list[dict[str, Any]] = report["problems"]
    assert problems
    lines = result.stderr.splitlines()
    assert len(lines) == len(problems)
    for problem, line in zip(problems, lines, strict=True):
        assert problem["file"] == str(path)
        assert (
            line == f"{path}:{problem['line']}: {problem['path'] or '(top)'}: {problem['message']}"
        )
    return problems


def the_problem(path: Path) -> dict[str, Any]:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_base_policy_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE, encoding="utf-8")
    result = check(str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: OK (2 severities, 1 role, 1 checklist)\n"


@pytest.mark.parametrize(
    ("integrations", "counted"),
    [
        ("", ""),
        ("  - {key: prometheus, name: Prometheus, type: alertmanager}\n", ", 1 integration"),
        (
            "  - {key: prometheus, name: Prometheus, type: alertmanager}\n"
            "  - {key: sentry, name: Sentry, type: sentry}\n",
            ", 2 integrations",
        ),
    ],
)
def test_the_summary_counts_integrations(tmp_path: Path, integrations: str, counted: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE + (f"integrations:\n{integrations}" if integrations else ""), "utf-8")
    result = check(str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: OK (2 severities, 1 role, 1 checklist{counted})\n"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "    name: Major", "    name: Major: really")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "Major: really")
    assert problem["path"] == ""
    assert problem["message"].startswith("YAML syntax: ")
    assert "mapping values are not allowed" in problem["message"]


def test_unclosed_bracket_is_a_syntax_error(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "[acknowledge, update-status]", "[acknowledge, update-status")
    problem = the_problem(path)
    assert problem["message"].startswith("YAML syntax: ")
    assert problem["line"] is not None and problem["line"] >= line_of(text, "[acknowledge,")


def test_unknown_key_typo(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "    exclusive: true", "    exclusiv: true")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "exclusiv:")
    assert problem["path"] == "roles[0].exclusiv"
    assert problem["message"].startswith("unknown key")


def test_misspelt_section_is_unknown_and_the_real_one_missing(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "checklists:\n", "checklist:\n")
    problem = the_problem(path)
    assert (problem["line"], problem["path"]) == (line_of(text, "checklist:"), "checklist")
    assert problem["message"].startswith("unknown key")

    path, text = broken(tmp_path, "severities:\n  - key: SEV1", "severites:\n  - key: SEV1")
    by_path = {p["path"]: p for p in problems_of(path)}
    assert by_path["severites"]["line"] == line_of(text, "severites:")
    assert by_path["severites"]["message"].startswith("unknown key")
    assert by_path["severities"]["message"] == "required key is missing"


def test_wrong_type(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "    exclusive: true", "    exclusive: maybe")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "exclusive: maybe")
    assert problem["path"] == "roles[0].exclusive"
    assert "valid boolean" in problem["message"]

    path, text = broken(tmp_path, "    items: [Page someone]", "    items: Page someone")
    problem = the_problem(path)
    assert (problem["line"], problem["path"]) == (line_of(text, "items:"), "checklists[0].items")
    assert "valid list" in problem["message"]


def test_yaml_11_words_stay_text() -> None:
    # YAML 1.1 would read `Off` and `No` as false; a policy reads YAML 1.2: they are text.
    text = BASE.replace("  name: Acme", "  name: Off").replace("    name: Major", "    name: No")
    policy, problems = parse_policy(text, "policy.yaml")
    assert problems == [] and policy is not None
    assert policy.organization.name == "Off"
    assert policy.severities[1].name == "No"


def test_a_block_section_is_located_at_its_key(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "  business_hours:\n", "  business_hour:\n")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "business_hour:")
    assert problem["path"] == "organization.business_hour"
    assert problem["message"].startswith("unknown key")


def test_bad_duration(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "within: 5m", "within: 15 minutes")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "15 minutes")
    assert problem["path"] == "severities[0].sla.acknowledge.within"
    assert "'15 minutes' is not a duration" in problem["message"]
    assert "'15m'" in problem["message"]


def test_bad_duration_in_the_shorthand(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "      resolve: 4h", "      resolve: 4 hours")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "resolve: 4 hours")
    assert problem["path"] == "severities[0].sla.resolve.within"
    assert "'4 hours' is not a duration" in problem["message"]


def test_a_target_must_count_from_an_earlier_stage(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "from: detected}", "from: mitigated}")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "from: mitigated")
    assert problem["path"] == "severities[0].sla.acknowledge.from"
    assert problem["message"].startswith("the acknowledge target must count from an earlier")


def test_unknown_stage(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "from: detected}", "from: noticed}")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "from: noticed")
    assert problem["path"] == "severities[0].sla.acknowledge.from"
    assert "'detected'" in problem["message"]


def test_unknown_severity_in_a_checklist(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "    severities: [SEV1]", "    severities: [SEV1, SEV9]")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "[SEV1, SEV9]")
    assert problem["path"] == "checklists[0].severities[1]"
    assert problem["message"] == "unknown severity 'SEV9' (known: SEV1, SEV2)"


def test_unknown_role_in_required_roles(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "- role: incident-commander", "- role: commander")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "role: commander")
    assert problem["path"] == "severities[0].required_roles[0].role"
    assert problem["message"] == "unknown role 'commander' (known: incident-commander)"


def test_unknown_permission_in_a_role(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "[acknowledge, update-status]", "[acknowledge, fly-to-moon]")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "fly-to-moon")
    assert problem["path"] == "roles[0].permissions[1]"
    assert problem["message"].startswith("unknown permission 'fly-to-moon' (known: ")
    assert "acknowledge" in problem["message"]


def test_duplicate_key_in_a_mapping(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "    name: Major\n", "    name: Major\n    name: Minor\n")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "name: Minor")
    assert problem["path"] == "severities[1].name"
    assert problem["message"] == "duplicate key 'name'"


def test_duplicate_section(tmp_path: Path) -> None:
    text = BASE + "phases:\n  - key: fix\n    name: Fix\n"
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    problems = problems_of(path)
    duplicate = next(p for p in problems if p["message"] == "duplicate key 'phases'")
    assert (duplicate["line"], duplicate["path"]) == (line_of(text, "phases:", 2), "phases")


def test_duplicate_severity_keys(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "  - key: SEV2", "  - key: SEV1")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "- key: SEV1", 2)
    assert problem["path"] == "severities[1].key"
    assert problem["message"] == "duplicate key 'SEV1' in severities"


def test_duplicate_severity_keys_differing_in_case(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "  - key: SEV2", "  - key: sev1")
    problem = the_problem(path)
    assert (problem["line"], problem["path"]) == (line_of(text, "key: sev1"), "severities[1].key")
    assert "duplicate key 'sev1'" in problem["message"]


def test_unknown_time_zone(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "Europe/Amsterdam", "Europe/Atlantis")
    problem = the_problem(path)
    assert problem["line"] == line_of(text, "Europe/Atlantis")
    assert problem["path"] == "organization.timezone"
    assert problem["message"] == "unknown IANA time zone 'Europe/Atlantis'"


def test_unquoted_business_hours_are_times_not_sexagesimal() -> None:
    # YAML 1.1 reads 18:00 as the integer 1080; the policy must see 18:00 o'clock.
    assert "    end: 18:00\n" in BASE
    policy, problems = parse_policy(BASE, "policy.yaml")
    assert problems == [] and policy is not None
    hours = policy.organization.business_hours
    assert (hours.start, hours.end) == (time(9, 0), time(18, 0))
    calendar = policy.organization.calendar()
    assert (calendar.opens, calendar.closes) == (time(9, 0), time(18, 0))


def test_business_hours_are_compared_as_times(tmp_path: Path) -> None:
    path, text = broken(tmp_path, "    end: 18:00", "    end: 08:00")
    problem = the_problem(path)
    assert problem["path"] == "organization.business_hours"
    assert problem["line"] == line_of(text, "business_hours:")
    assert problem["message"] == "business hours must end after they start"


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = (
        BASE.replace("Europe/Amsterdam", "Mars/Olympus")
        .replace("    exclusive: true", "    exclusiv: true")
        .replace("within: 5m", "within: soon")
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    got = {(p["path"], p["line"]) for p in problems_of(path)}
    assert got == {
        ("organization.timezone", line_of(text, "Mars/Olympus")),
        ("roles[0].exclusiv", line_of(text, "exclusiv:")),
        ("severities[0].sla.acknowledge.within", line_of(text, "within: soon")),
    }


def test_cross_reference_problems_are_all_reported(tmp_path: Path) -> None:
    text = (
        BASE.replace("[acknowledge, update-status]", "[acknowledge, fly]")
        .replace("- role: incident-commander", "- role: commander")
        .replace("    severities: [SEV1]", "    severities: [SEV7]")
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    got = {(p["path"], p["line"]) for p in problems_of(path)}
    assert got == {
        ("roles[0].permissions[1]", line_of(text, "[acknowledge, fly]")),
        ("severities[0].required_roles[0].role", line_of(text, "role: commander")),
        ("checklists[0].severities[0]", line_of(text, "[SEV7]")),
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "a policy is a mapping of sections"), ("- a\n- b\n", "a policy is a mapping")],
    ids=["empty", "a-list"],
)
def test_not_a_mapping(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content, encoding="utf-8")
    problem = the_problem(path)
    assert problem["line"] == 1 and message in problem["message"]


def test_several_files_one_broken(tmp_path: Path) -> None:
    path, _ = broken(tmp_path, "Europe/Amsterdam", "Nowhere/Town")
    good = POLICY_FILES[0]
    result = check(str(good), str(path))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{good}: OK (")
    assert result.stderr.startswith(f"{path}:4: organization.timezone: unknown IANA time zone")
    reports = json.loads(check(str(good), str(path), "--json").stdout)
    assert [r["valid"] for r in reports] == [True, False]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = check(str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
