"""The ``tocsin`` command with direct database access (no ``--server``).

Each command runs the real API routes in-process against ``TOCSIN_DATABASE_URL``, acting
as ``--as EMAIL`` or else the built-in ``system`` admin. Sync tests: the CLI runs its own
event loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner, Result

from tocsin.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SEED_004 = ROOT / "examples" / "policies" / "seed-004-incident-response.yaml"
DEFAULT = ROOT / "src" / "tocsin" / "policy" / "default.yaml"
INCIDENT_ID = re.compile(r"^INC-\d{4}-\d{2}-\d{2}-\d{3}$")

Run = Callable[..., Result]
RunJson = Callable[..., Any]


@pytest.fixture
def seeded_cli(cli: Run) -> Run:
    """The CLI on a database with seed 004's policy applied (which also adds its people)."""
    cli("policy", "apply", str(SEED_004))
    return cli


def declare(cli_json: RunJson, title: str, severity: str, *extra: str) -> str:
    incident = cli_json("incident", "declare", title, "--severity", severity, *extra)
    assert INCIDENT_ID.match(incident["id"]), incident["id"]
    return str(incident["id"])


# --- policy -------------------------------------------------------------------------------


def test_policy_apply_and_show(cli: Run, cli_json: RunJson) -> None:
    applied = cli("policy", "apply", str(SEED_004))
    assert f"Applied {SEED_004} as policy version 1" in applied.stdout

    again = cli("policy", "apply", str(SEED_004))
    assert "Unchanged" in again.stdout and "already policy version 1" in again.stdout

    second = cli_json("policy", "apply", str(DEFAULT))
    assert second["created"] is True
    assert second["version"]["version"] == 2
    assert second["version"]["source"] == "default.yaml"

    current = cli("policy", "show")
    assert current.stdout.startswith("# policy version 2, applied ")
    assert "by system" in current.stdout.splitlines()[0]
    assert current.stdout.endswith(DEFAULT.read_text(encoding="utf-8"))

    first = cli("policy", "show", "--version", "1")
    assert first.stdout.startswith("# policy version 1, applied ")
    assert first.stdout.endswith(SEED_004.read_text(encoding="utf-8"))
    first_json = cli_json("policy", "show", "--version", "1")
    assert first_json["version"] == 1
    assert first_json["content"] == SEED_004.read_text(encoding="utf-8")
    assert cli_json("policy", "show")["version"] == 2

    versions = cli_json("policy", "show", "--versions")
    assert sorted(v["version"] for v in versions) == [1, 2]
    assert {v["source"] for v in versions} == {SEED_004.name, "default.yaml"}
    assert {v["applied_by"] for v in versions} == {"system"}

    table = cli("policy", "show", "--versions").stdout.splitlines()
    assert table[0].split() == ["version", "applied", "by", "source"]
    assert any(line.split()[0] == "1" and SEED_004.name in line for line in table[2:])
    assert any(line.split()[0] == "2" and "default.yaml" in line for line in table[2:])

    missing = cli("policy", "show", "--version", "7", code=1)
    assert "no policy version 7" in missing.stderr


def test_policy_show_before_any_policy(cli: Run) -> None:
    result = cli("policy", "show", code=1)
    assert "no policy has been applied yet" in result.stderr
    assert "tocsin policy apply" in result.stderr


def test_policy_apply_refuses_a_broken_file_and_names_the_line(cli: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = SEED_004.read_text(encoding="utf-8").replace(
        "    exclusive: true", "    exclusiv: true", 1
    )
    broken.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    exclusiv: true") + 1
    result = cli("policy", "apply", str(broken), code=1)
    assert "the policy has 1 problem(s)" in result.stderr
    assert f"broken.yaml:{line}: roles[" in result.stderr
    assert "].exclusiv: unknown key" in result.stderr
    assert "no policy has been applied yet" in cli("policy", "show", code=1).stderr


# --- people and tokens ----------------------------------------------------------------------


def test_user_add_and_list(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    added = cli(
        "user", "add", "ann@example.com", "--name", "Ann Example", "--admin",
        "--role", "incident-commander", "--role", "sysadmin",
    )  # fmt: skip
    assert added.stdout.strip() == "Added ann@example.com (Ann Example) as admin"

    bob = cli_json("user", "add", "bob@example.com", "--role", "on-call-engineer")
    assert bob["email"] == "bob@example.com"
    assert bob["is_admin"] is False
    assert bob["roles"] == ["on-call-engineer"]

    people = {u["email"]: u for u in cli_json("user", "list")}
    assert people["ann@example.com"]["name"] == "Ann Example"
    assert people["ann@example.com"]["is_admin"] is True
    assert sorted(people["ann@example.com"]["roles"]) == ["incident-commander", "sysadmin"]
    assert people["bob@example.com"]["roles"] == ["on-call-engineer"]
    assert "tech.lead@example.com" in people  # from the policy's people: section

    table = cli("user", "list").stdout.splitlines()
    assert table[0].split() == ["email", "name", "admin", "roles"]
    ann = next(line for line in table if line.startswith("ann@example.com"))
    assert "Ann Example" in ann and " yes " in ann and "incident-commander" in ann

    duplicate = cli("user", "add", "ann@example.com", code=1)
    assert "already exists" in duplicate.stderr
    unknown_role = cli("user", "add", "carol@example.com", "--role", "wizard", code=1)
    assert "unknown role(s) wizard" in unknown_role.stderr
    assert "carol@example.com" not in {u["email"] for u in cli_json("user", "list")}
    not_email = cli("user", "add", "not-an-email", code=1)
    assert "not an e-mail address" in not_email.stderr


def test_tokens_create_list_revoke(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    cli("user", "add", "ann@example.com")
    created = cli_json("token", "create", "ann@example.com", "--name", "laptop")
    assert isinstance(created["token"], str) and len(created["token"]) > 20
    assert created["user"] == "ann@example.com"
    assert created["name"] == "laptop"
    assert created["token"].startswith(created["prefix"])

    shown = cli("token", "create", "ann@example.com").stdout
    assert "shown once" in shown
    second_secret = shown.strip().splitlines()[-1]
    assert second_secret != created["token"]

    listed = cli_json("token", "list")
    assert len(listed) == 2
    assert all("token" not in t for t in listed), "token list must never show secrets"
    assert {t["user"] for t in listed} == {"ann@example.com"}
    assert all(t["revoked_at"] is None for t in listed)
    table = cli("token", "list").stdout
    assert created["token"] not in table and second_secret not in table
    assert table.count("active") == 2

    revoked = cli("token", "revoke", str(created["id"]))
    assert revoked.stdout.strip() == f"Token {created['id']} of ann@example.com revoked"
    by_id = {t["id"]: t for t in cli_json("token", "list")}
    assert by_id[created["id"]]["revoked_at"] is not None
    table = cli("token", "list").stdout
    assert table.count("active") == 1 and table.count("revoked") == 1

    missing = cli("token", "revoke", "999", code=1)
    assert "no token with id 999" in missing.stderr


# --- incidents ------------------------------------------------------------------------------


def test_incident_flow(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    cli("user", "add", "ic@example.com", "--name", "Ida Commander", "--role", "incident-commander")

    incident = cli_json(
        "incident", "declare", "Scores are not saved", "--severity", "SEV1",
        "--summary", "Students lose their scores", "--component", "score-recording",
        "--component", "database", "--users-affected", "1200",
        "--business-impact", "refunds",
    )  # fmt: skip
    ref = incident["id"]
    assert INCIDENT_ID.match(ref), ref
    assert incident["status"] == "investigating"
    assert incident["severity"] == "SEV1"
    assert incident["components"] == ["score-recording", "database"]
    assert incident["impact"]["users_affected"] == 1200
    assert incident["policy_version"] == 1
    assert {t["target"] for t in incident["sla"]} >= {"acknowledge", "mitigate", "resolve"}

    plain = cli("incident", "declare", "Login slow", "-s", "SEV3")
    second = re.fullmatch(r"Declared (INC-\S+) \(SEV3\): Login slow", plain.stdout.strip())
    assert second is not None, plain.stdout
    assert second.group(1) != ref

    shown = cli_json("incident", "show", ref)
    assert shown["title"] == "Scores are not saved"
    items = shown["checklists"]
    assert items, "SEV1 under seed 004 has checklists"
    item = items[0]
    table = cli("incident", "show", ref).stdout
    assert re.search(rf"^ID\s+{ref}$", table, re.M)
    assert "SEV1 (Severity 1: Critical)" in table
    assert "\nSLA\n" in table and "\nChecklists\n" in table
    assert item["text"] in table
    assert cli_json("incident", "show", ref.lower())["id"] == ref

    acked = cli("incident", "ack", ref, as_user="ic@example.com")
    assert acked.stdout.strip() == f"{ref} acknowledged"
    shown = cli_json("incident", "show", ref)
    assert shown["acknowledged_by"] == "ic@example.com"
    assert shown["acknowledged_at"] is not None

    proposed = cli(
        "incident", "propose-mitigation", ref, "Rollback to v1.2.3", "--risk", "low",
        "--rollback-plan", "Redeploy v1.2.4", as_user="oncall.primary@example.com",
    )  # fmt: skip
    line = proposed.stdout.strip()
    found = re.fullmatch(
        rf"{ref}: Mitigation proposed: Rollback to v1\.2\.3 \(risk Low\) \[proposal (\d+)\]", line
    )
    assert found, line
    refused = cli(
        "incident", "approve-mitigation", ref, found[1], as_user="oncall.primary@example.com",
        code=1,
    )  # fmt: skip
    assert "approve-rollback" in refused.stderr
    approved = cli_json("incident", "approve-mitigation", ref, found[1], as_user="ic@example.com")
    assert approved["kind"] == "mitigation_approved"

    status = cli("incident", "status", ref, "identified", "--note", "bad migration")
    assert status.stdout.strip() == f"{ref} is now identified"

    severity = cli_json("incident", "severity", ref, "SEV2", "--reason", "fewer users")
    assert severity["severity"] == "SEV2"
    assert severity["status"] == "identified"

    assigned = cli("incident", "assign", ref, "incident-commander", "ic@example.com")
    assert assigned.stdout.strip() == f"ic@example.com is now incident-commander of {ref}"
    roles = cli_json("incident", "show", ref)["roles"]
    assert [(r["role"], r["email"]) for r in roles] == [("incident-commander", "ic@example.com")]
    # The role is exclusive: handing it over relieves the first holder.
    handed = cli_json("incident", "assign", ref, "incident-commander", "tech.lead@example.com")
    assert [(r["role"], r["email"]) for r in handed["roles"]] == [
        ("incident-commander", "tech.lead@example.com")
    ]
    relieved = cli("incident", "relieve", ref, "incident-commander")
    assert relieved.stdout.strip() == f"incident-commander relieved on {ref}"
    assert cli_json("incident", "show", ref)["roles"] == []
    nobody = cli("incident", "relieve", ref, "incident-commander", code=1)
    assert "nobody holds 'incident-commander'" in nobody.stderr

    noted = cli("incident", "note", ref, "Rolled back the migration")
    assert noted.stdout.strip() == f"Note added to {ref}"
    note_event = cli_json("incident", "note", ref, "Second note")
    assert note_event["kind"] == "note" and note_event["summary"] == "Second note"

    checked = cli("incident", "check", ref, str(item["id"]))
    assert checked.stdout.strip() == f"[x] {item['text']}"
    by_id = {i["id"]: i for i in cli_json("incident", "show", ref)["checklists"]}
    assert by_id[item["id"]]["checked_at"] is not None
    unchecked = cli_json("incident", "check", ref, str(item["id"]), "--undo")
    assert unchecked["id"] == item["id"] and unchecked["checked_at"] is None

    assert cli("incident", "resolve", ref).stdout.strip() == f"{ref} resolved"
    assert cli_json("incident", "show", ref)["resolved_at"] is not None
    reopened = cli_json("incident", "reopen", ref)
    assert reopened["status"] == "investigating" and reopened["resolved_at"] is None
    cli("incident", "resolve", ref)
    assert cli("incident", "close", ref).stdout.strip() == f"{ref} closed"
    final = cli_json("incident", "show", ref)
    assert final["status"] == "closed" and final["closed_at"] is not None

    events = cli_json("incident", "timeline", ref)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "declared"
    for kind in (
        "acknowledged", "mitigation_proposed", "status", "severity", "role_assigned",
        "role_relieved", "note", "checklist", "reopened",
    ):  # fmt: skip
        assert kind in kinds, kinds
    assert kinds[-1] == "status" and "closed" in events[-1]["summary"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    ack = next(e for e in events if e["kind"] == "acknowledged")
    assert ack["actor"] == "ic@example.com"
    # The timeline says which door it came through.
    assert ack["summary"].endswith(" via cli") and ack["data"]["after"]["via"] == "cli"
    assert next(e for e in events if e["kind"] == "declared")["actor"] == "system"

    table = cli("incident", "timeline", ref).stdout.splitlines()
    assert table[0].split() == ["time", "who", "kind", "what"]
    assert len(table) == 2 + len(events)
    assert any("Rolled back the migration" in line for line in table)

    markdown = cli("incident", "timeline", ref, "--markdown").stdout
    assert markdown.startswith(f"# {ref}: Scores are not saved")
    assert "## Timeline" in markdown
    assert "Rolled back the migration" in markdown
    assert "- Status: closed" in markdown
    assert cli("incident", "timeline", ref, "--md").stdout == markdown

    closed = cli("incident", "reopen", ref, code=1)
    assert "closed is final" in closed.stderr


def test_edit_and_invite_to_a_restricted_incident(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    cli("user", "add", "viewer@example.com")
    ref = declare(
        cli_json, "Leaked keys", "SEV1", "--type", "security", "--business-impact", "trust"
    )
    assert cli_json("incident", "show", ref)["restricted"] is True

    # Restricted: invisible to someone who does not participate, as if it did not exist.
    hidden = cli("incident", "show", ref, as_user="viewer@example.com", code=1)
    assert f"no incident '{ref}'" in hidden.stderr
    assert cli_json("incident", "list", as_user="viewer@example.com")["total"] == 0

    invited = cli("incident", "invite", ref, "viewer@example.com")
    assert invited.stdout.strip() == f"viewer@example.com now participates in {ref}"
    assert cli_json("incident", "show", ref, as_user="viewer@example.com")["id"] == ref
    assert cli_json("incident", "list", as_user="viewer@example.com")["total"] == 1

    edited = cli_json(
        "incident", "edit", ref, "--title", "Leaked API keys", "-c", "api",
        "--users-affected", "40",
    )  # fmt: skip
    assert edited["title"] == "Leaked API keys"
    assert edited["components"] == ["api"]
    assert edited["impact"]["users_affected"] == 40
    assert edited["impact"]["business_impact"] == "trust"  # the rest of the impact is kept
    updated = [e for e in cli_json("incident", "timeline", ref) if e["kind"] == "updated"]
    assert len(updated) == 1 and "title" in updated[0]["summary"]

    denied = cli("incident", "edit", ref, "--title", "x", as_user="viewer@example.com", code=1)
    assert "lacks the permission 'edit-incident'" in denied.stderr
    bad = cli("incident", "edit", ref, "-c", "moon", code=1)
    assert "unknown component(s) moon" in bad.stderr


def test_incident_list_filters(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    db_down = declare(cli_json, "Database down", "SEV1")
    typo = declare(cli_json, "Typo on the pricing page", "SEV4", "--summary", "copy error")
    slow = declare(cli_json, "Slow search", "SEV2")
    cli("incident", "resolve", typo)

    def ids(*args: str) -> list[str]:
        result = cli_json("incident", "list", *args)
        assert result["total"] == len(result["incidents"])
        return [i["id"] for i in result["incidents"]]

    assert ids() == [slow, typo, db_down]  # newest first
    assert ids("--status", "resolved") == [typo]
    assert ids("--status", "investigating") == [slow, db_down]
    assert ids("--severity", "SEV1") == [db_down]
    assert ids("-s", "SEV1", "-s", "SEV2") == [slow, db_down]
    assert ids("--open") == [slow, db_down]
    assert ids("-q", "TYPO") == [typo]
    assert ids("--search", "copy error") == [typo]
    assert ids("-q", db_down) == [db_down]
    assert ids("-q", "nothing like this") == []
    assert ids("--open", "--severity", "SEV4") == []

    limited = cli_json("incident", "list", "--limit", "1")
    assert [i["id"] for i in limited["incidents"]] == [slow]
    assert limited["total"] == 3

    table = cli("incident", "list").stdout.splitlines()
    assert table[0].split() == ["id", "severity", "status", "alerts", "declared", "title"]
    assert table[1].replace(" ", "").strip("-") == ""
    assert [line.split()[0] for line in table[2:5]] == [slow, typo, db_down]
    assert table[-1] == "3 of 3 incident(s)"
    typo_row = next(line for line in table if line.startswith(typo))
    assert "SEV4" in typo_row and "resolved" in typo_row and "Typo on the pricing page" in typo_row
    assert cli("incident", "list", "--open").stdout.splitlines()[-1] == "2 of 2 incident(s)"

    bad = cli("incident", "list", "--status", "bogus", code=1)
    assert "unknown status 'bogus' (known: investigating, " in bad.stderr


# --- audit and acting as someone -----------------------------------------------------------


def test_audit_names_actions_and_actor(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    cli("user", "add", "ic@example.com", "--role", "incident-commander")
    ref = declare(cli_json, "Payments fail", "SEV1")
    cli("incident", "ack", ref, as_user="ic@example.com")
    cli("incident", "note", ref, "Looking into it", as_user="ic@example.com")

    rows = cli_json("audit")
    actions = [r["action"] for r in rows]
    for action in (
        "policy.apply", "user.create", "incident.declared", "incident.acknowledged",
        "incident.note",
    ):  # fmt: skip
        assert action in actions, actions
    by_action = {r["action"]: r for r in rows}
    assert by_action["policy.apply"]["actor"] == "system"
    assert by_action["incident.declared"]["actor"] == "system"
    assert by_action["incident.declared"]["object_id"] == ref
    assert by_action["incident.acknowledged"]["actor"] == "ic@example.com"
    assert by_action["incident.note"]["actor"] == "ic@example.com"
    assert actions.index("incident.note") < actions.index("incident.declared")  # newest first

    only = cli_json("audit", "--action", "incident.acknowledged")
    assert [(r["action"], r["actor"]) for r in only] == [
        ("incident.acknowledged", "ic@example.com")
    ]
    for_incident = cli_json("audit", "--object", ref)
    assert {r["object_id"] for r in for_incident} == {ref}
    assert len(cli_json("audit", "--limit", "2")) == 2

    table = cli("audit").stdout.splitlines()
    assert table[0].split() == ["time", "actor", "action", "object"]
    ack_row = next(line for line in table if "incident.acknowledged" in line)
    assert "ic@example.com" in ack_row and f"incident:{ref}" in ack_row
    assert any("system" in line and "policy.apply" in line for line in table)

    denied = cli("audit", as_user="ic@example.com", code=1)
    assert "admin" in denied.stderr and "HTTP 403" in denied.stderr


def test_as_user_lacking_a_permission_is_refused(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    cli("user", "add", "viewer@example.com", "--name", "Viola Viewer")
    ref = declare(cli_json, "Email is not sent", "SEV2")

    denied = cli("incident", "ack", ref, as_user="viewer@example.com", code=1)
    assert "viewer@example.com lacks the permission 'acknowledge'" in denied.stderr
    assert "HTTP 403" in denied.stderr
    assert denied.stdout == ""
    moved = cli("incident", "status", ref, "resolved", as_user="viewer@example.com", code=1)
    assert "'update-status'" in moved.stderr
    escalated = cli("incident", "severity", ref, "SEV1", as_user="viewer@example.com", code=1)
    assert "'change-severity'" in escalated.stderr
    policy = cli("policy", "apply", str(DEFAULT), as_user="viewer@example.com", code=1)
    assert "admin" in policy.stderr

    after = cli_json("incident", "show", ref)
    assert after["acknowledged_at"] is None and after["status"] == "investigating"
    assert after["severity"] == "SEV2"

    # What everyone may do (seed 004: declare, add-note) works as that person.
    own = declare_as(cli_json, "viewer@example.com", "Seen by a viewer", "SEV4")
    assert cli_json("incident", "show", own)["declared_by"] == "viewer@example.com"
    cli("incident", "note", ref, "I can see it too", as_user="viewer@example.com")
    notes = [e for e in cli_json("incident", "timeline", ref) if e["kind"] == "note"]
    assert [(e["actor"], e["summary"]) for e in notes] == [
        ("viewer@example.com", "I can see it too")
    ]


def declare_as(cli_json: RunJson, email: str, title: str, severity: str) -> str:
    incident = cli_json("incident", "declare", title, "-s", severity, as_user=email)
    return str(incident["id"])


def test_unknown_as_user_fails_clearly(seeded_cli: Run) -> None:
    result = seeded_cli("incident", "list", as_user="nobody@example.com", code=1)
    assert "--as nobody@example.com: no such user" in result.stderr
    assert result.stdout == ""


def test_bad_input_gives_a_clear_message(seeded_cli: Run, cli_json: RunJson) -> None:
    cli = seeded_cli
    unknown = cli("incident", "declare", "Something", "--severity", "SEV9", code=1)
    assert "unknown severity 'SEV9' (known: SEV1, SEV2, SEV3, SEV4)" in unknown.stderr
    assert cli_json("incident", "list")["total"] == 0

    ref = declare(cli_json, "Something", "SEV3")
    illegal = cli("incident", "close", ref, code=1)
    assert f"{ref} is 'investigating' and cannot move to 'closed'" in illegal.stderr
    assert "allowed: identified, monitoring, resolved" in illegal.stderr
    assert "HTTP 409" in illegal.stderr

    bad_status = cli("incident", "status", ref, "done", code=1)
    assert "unknown status 'done'" in bad_status.stderr
    bad_severity = cli("incident", "severity", ref, "P0", code=1)
    assert "unknown severity 'P0'" in bad_severity.stderr
    reopen = cli("incident", "reopen", ref, code=1)
    assert "cannot move to 'investigating'" in reopen.stderr
    missing = cli("incident", "show", "INC-1999-01-01-001", code=1)
    assert "no incident 'INC-1999-01-01-001'" in missing.stderr
    role = cli("incident", "assign", ref, "wizard", "tech.lead@example.com", code=1)
    assert "unknown role 'wizard'" in role.stderr
    component = cli("incident", "declare", "x", "-s", "SEV1", "-c", "moon", code=1)
    assert "unknown component(s) moon" in component.stderr
    future = cli(
        "incident", "declare", "x", "-s", "SEV1", "--detected-at", "2999-01-01T00:00:00+0000",
        code=1,
    )  # fmt: skip
    assert "detected_at lies in the future" in future.stderr
    note = cli("incident", "note", ref, "   ", code=1)
    assert "a note needs text" in note.stderr
    item = cli("incident", "check", ref, "99999", code=1)
    assert "HTTP 404" in item.stderr
    assert cli_json("incident", "show", ref)["status"] == "investigating"

    # Command-line mistakes are usage errors (exit 2), also without a traceback.
    usage = cli("incident", "check", ref, "first", code=2)
    assert "Traceback" not in usage.output and "Invalid value" in usage.output


def test_no_policy_yet_is_explained(cli: Run) -> None:
    result = cli("incident", "declare", "x", "-s", "SEV1", code=1)
    assert "no policy has been applied yet; run `tocsin policy apply FILE`" in result.stderr


# --- help -----------------------------------------------------------------------------------


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group, as the words that call it (typer's own click: duck-typed)."""
    yield path
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _command_paths(sub, (*path, name))


COMMAND_PATHS = list(_command_paths(typer.main.get_command(app)))


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p in COMMAND_PATHS}
    for expected in (
        "", "incident", "incident declare", "incident timeline", "policy check", "policy apply",
        "user add", "token revoke", "audit", "migrate", "serve",
    ):  # fmt: skip
        assert expected in names, sorted(names)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "tocsin")
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"TOCSIN_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    assert result.exception is None
    text = result.stdout
    assert text.strip()
    assert "Usage:" in text
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    summary = (command.help or "").strip().splitlines()
    assert summary, f"{' '.join(path) or 'tocsin'} has no help text"
    assert summary[0].split()[0] in text


def test_json_output_is_valid_json(seeded_cli: Run) -> None:
    # Every --json output is a document a script can parse (not a table, not a message).
    ref = json.loads(seeded_cli("incident", "declare", "x", "-s", "SEV4", "--json").stdout)["id"]
    for args in (
        ("incident", "list"), ("incident", "show", ref), ("incident", "timeline", ref),
        ("user", "list"), ("token", "list"), ("audit",), ("policy", "show"),
        ("policy", "show", "--versions"),
    ):  # fmt: skip
        json.loads(seeded_cli(*args, "--json").stdout)


def test_show_judges_sla_at_a_given_instant(seeded_cli: Run, cli_json: RunJson) -> None:
    ref = declare(cli_json, "Checkout down", "SEV1", "--detected-at", "2026-01-15T09:00:00+00:00")
    later = cli_json("incident", "show", ref, "--at", "2099-01-01T00:00:00+00:00")
    ack = next(t for t in later["sla"] if t["target"] == "acknowledge")
    assert ack["verdict"] == "breached" and ack["due_at"].startswith("2026-01-15T09:05:00")
    table = seeded_cli("incident", "show", ref, "--at", "2026-01-15T09:01:00+00:00").stdout
    assert "due in 4m" in table
