"""``tocsin postmortem ...`` and ``tocsin actions ...`` on seed 004's policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SEED_004
from typer.testing import Result

Run = Callable[..., Result]


@pytest.fixture
def seeded_cli(cli: Run) -> Run:
    cli("policy", "apply", str(SEED_004))
    return cli


def test_postmortem_export_edit_import_review(
    seeded_cli: Run, cli_json: Callable[..., Any], tmp_path: Path
) -> None:
    ref = cli_json("incident", "declare", "Scores are not saved", "--severity", "SEV1")["id"]
    seeded_cli("incident", "resolve", ref)
    shown = seeded_cli("postmortem", "show", ref).stdout
    assert "post-mortem" in shown and "Postmortem meeting" in shown and "Executive Summary" in shown
    path = tmp_path / "pm.md"
    seeded_cli("postmortem", "export", ref, "-o", str(path))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Post-Mortem: Scores are not saved\n")
    path.write_text(text.replace("1. [What we learned]", "1. Load test first"), encoding="utf-8")
    seeded_cli("postmortem", "import", ref, str(path))
    again = seeded_cli("postmortem", "export", ref).stdout
    assert again == path.read_text(encoding="utf-8")
    out = cli_json("postmortem", "status", ref, "in_review", "-r", "tech.lead@example.com")
    assert out["status"] == "in_review"
    seeded_cli("postmortem", "approve", ref, as_user="tech.lead@example.com")
    assert cli_json("postmortem", "status", ref, "final")["status"] == "final"
    refused = seeded_cli("postmortem", "import", ref, str(path), code=1)
    assert "final" in refused.stderr
    said = seeded_cli("postmortem", "root-cause", ref, "memory-leak").stdout
    assert said.strip() == f"Root cause of {ref}: memory-leak"
    seeded_cli("postmortem", "meeting", ref, "2026-01-16T10:00:00+00:00")
    assert cli_json("postmortem", "show", ref)["deadlines"][0]["met"] is True


def test_actions_add_list_done(seeded_cli: Run, cli_json: Callable[..., Any]) -> None:
    ref = cli_json("incident", "declare", "Slow reports", "--severity", "SEV2")["id"]
    added = seeded_cli(
        "actions", "add", ref, "Add an index", "--owner", "tech.lead", "--due", "2099-01-20"
    ).stdout
    assert f"Added {ref} #1 [open] Add an index (@tech.lead, short-term, due 2099-01-20" in added
    seeded_cli("actions", "add", ref, "Update runbook", "-o", "comms", "-p", "long-term")
    table = seeded_cli("actions", "list", "--owner", "tech.lead").stdout
    assert "Add an index" in table and "Update runbook" not in table
    listed = cli_json("actions", "list", "--team", "product")
    assert [i["title"] for i in listed["items"]] == ["Update runbook"]
    done = seeded_cli("actions", "done", ref, "1").stdout
    assert "[done]" in done
    assert [i["number"] for i in cli_json("actions", "list")["items"]] == [2]
    seeded_cli("actions", "done", ref, "7", code=1)
    bad = seeded_cli("actions", "add", ref, "x", "--owner", "nobody", code=1)
    assert "unknown owner 'nobody'" in bad.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["postmortem"],
        ["postmortem", "create"],
        ["postmortem", "export"],
        ["postmortem", "import"],
        ["postmortem", "status"],
        ["actions"],
        ["actions", "list"],
        ["actions", "add"],
        ["actions", "done"],
    ],
)
def test_every_command_has_help(cli: Run, command: list[str]) -> None:
    out = cli(*command, "--help").stdout
    assert "Usage:" in out and len(out.splitlines()) > 4
