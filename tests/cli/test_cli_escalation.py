"""``tocsin incident escalation`` and ``incident post-update`` on seed 004's SEV1 ladder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import SEED_004
from typer.testing import Result

Run = Callable[..., Result]


@pytest.fixture
def seeded_cli(cli: Run) -> Run:
    cli("policy", "apply", str(SEED_004))
    return cli


def test_escalation_table_and_post_update(seeded_cli: Run, cli_json: Callable[..., Any]) -> None:
    ref = cli_json("incident", "declare", "Scores are not saved", "--severity", "SEV1")["id"]
    table = seeded_cli("incident", "escalation", ref).stdout
    assert f"{ref}: ladder sev1 (active)" in table
    assert "schedule:on-call" in table and "role:cto-vp-engineering" in table
    state = cli_json("incident", "escalation", ref)
    assert [s["status"] for s in state["steps"]] == ["pending", "pending", "pending"]
    assert state["next"]["step"] == 1
    posted = seeded_cli("incident", "post-update", ref, "Rolling back 4.2")
    assert posted.stdout.strip() == f"Update posted to {ref}"
    timeline = cli_json("incident", "timeline", ref)
    assert any(e["kind"] == "update" and e["summary"] == "Rolling back 4.2" for e in timeline)


def test_escalation_of_an_unknown_incident(seeded_cli: Run) -> None:
    result = seeded_cli("incident", "escalation", "INC-2026-01-01-999", code=1)
    assert "INC-2026-01-01-999" in result.stderr
