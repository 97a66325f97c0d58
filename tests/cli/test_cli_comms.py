"""``tocsin comms templates|preview|send`` through Typer's runner, straight on the test
database (SQLite and PostgreSQL), acting as the system admin or ``--as`` a person."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.comms.test_comms_service import comms_policy
from typer.testing import CliRunner

from tocsin.cli.main import app

Run = Callable[..., Any]


@pytest.fixture
def ref(cli: Run, cli_json: Run, tmp_path: Path) -> str:
    policy = tmp_path / "comms.yaml"
    policy.write_text(comms_policy(), encoding="utf-8")
    cli("policy", "apply", str(policy))
    incident = cli_json(
        "incident", "declare", "Checkout returns 500", "--severity", "SEV1", "-c", "checkout"
    )
    return str(incident["id"])


def test_templates_table_and_json(cli: Run, cli_json: Run, ref: str) -> None:
    lines = cli("comms", "templates").stdout.splitlines()
    assert lines[0].split() == ["template", "locale", "source", "description"]
    assert any(line.split()[:3] == ["incident-update", "en", "policy"] for line in lines)
    assert any(line.split()[:3] == ["incident-update", "nl", "builtin"] for line in lines)
    rows = cli_json("comms", "templates")
    assert {"key": "reminder", "locale": "nl", "source": "builtin"}.items() <= next(
        r for r in rows if r["key"] == "reminder" and r["locale"] == "nl"
    ).items()


def test_preview_shows_subject_and_text(cli: Run, cli_json: Run, ref: str) -> None:
    out = cli(
        "comms", "preview", ref, "--template", "incident-update", "--set", "progress=Rolled back"
    ).stdout
    assert out == (
        f"Subject: Update {ref}\n(incident-update, en)\n\n"
        "Progress: Rolled back\nNext: [not known yet: next steps]\n"
    )
    dutch = cli_json(
        "comms", "preview", ref, "-t", "incident-update", "--locale", "nl", "-s", "eta=15:00"
    )
    assert dutch["locale"] == "nl"
    assert "Verwacht opgelost: 15:00" in dutch["text"]
    email = cli("comms", "preview", ref, "-t", "customer-email").stdout
    assert "(This template also has an HTML part for e-mail; --json shows it.)" in email


def test_send_through_a_channel_to_people(cli: Run, cli_json: Run, ref: str) -> None:
    rows = cli_json(
        "comms",
        "send",
        ref,
        "--template",
        "status-investigating",
        "--channel",
        "mail",
        "--to",
        "customer@example.org",
        "--to",
        "role:incident-commander",
        "--set",
        "customer_impact=Payments fail",
        "--idempotency-key",
        "first",
    )
    # Nobody holds incident-commander on this incident yet: the role reaches its standing
    # holder in the policy, Dana.
    assert [(r["channel"], r["recipient"], r["status"]) for r in rows] == [
        ("mail", "customer@example.org", "pending"),
        ("mail", "dana@example.com", "pending"),
    ]
    events = cli_json("incident", "timeline", ref)
    (sent,) = [e for e in events if e["kind"] == "comms"]
    assert sent["summary"].startswith("Sent status-investigating (en) via mail to ")
    table = cli("comms", "send", ref, "-t", "acknowledged").stdout.splitlines()
    assert table[0] == f"Queued 1 message(s) for {ref}:"
    assert table[1].split() == ["id", "channel", "recipient", "status", "subject"]
    assert table[3].split()[1:4] == ["chat", "#incidents", "pending"]


def test_send_needs_the_permission(cli: Run, ref: str) -> None:
    cli("user", "add", "walker@example.com", "--name", "Walker")
    result = cli(
        "comms", "send", ref, "-t", "incident-update", as_user="walker@example.com", code=1
    )
    assert "lacks the permission 'send-communications'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preview", "-t", "nope"], "error: no template 'nope' (known: "),
        (["preview", "-t", "incident-update", "--locale", "fr"], "error: unknown locale 'fr'"),
        (
            ["preview", "-t", "incident-update", "-s", "colour=red"],
            "error: unknown update field(s) colour",
        ),
        (
            ["send", "-t", "incident-update", "-c", "mail"],
            "error: channel 'mail' (email) sends to people",
        ),
        (["send", "-t", "incident-update", "-c", "fax"], "error: unknown channel 'fax'"),
    ],
)
def test_bad_input_is_an_error_message(cli: Run, ref: str, args: list[str], message: str) -> None:
    command, *rest = args
    result = cli("comms", command, ref, *rest, code=1)
    assert result.stderr.startswith(message), result.stderr


def test_a_set_without_a_value_is_a_usage_error(cli: Run, ref: str) -> None:
    result = cli("comms", "preview", ref, "-t", "incident-update", "--set", "progress", code=2)
    assert "write NAME=VALUE" in result.output


@pytest.mark.parametrize("command", [[], ["templates"], ["preview"], ["send"]])
def test_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, ["comms", *command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    if command in (["preview"], ["send"]):
        assert "--template" in result.output and "--set" in result.output
        assert "--json" in result.output
    if command == ["send"]:
        assert "--to" in result.output and "--channel" in result.output


def test_json_is_json(cli_json: Run, ref: str) -> None:
    rendered = cli_json(
        "comms", "preview", ref, "-t", "reminder", "-s", "notice.reason=Post an update"
    )
    assert json.loads(json.dumps(rendered))["text"].startswith("Post an update\n")
