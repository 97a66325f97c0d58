"""``tocsin simulate``: a dry run of the policy's escalation under a virtual clock."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from tocsin.cli.common import detail_text
from tocsin.errors import TocsinError
from tocsin.policy.loader import load_policy_text
from tocsin.simulate.runner import simulate as run_simulation
from tocsin.simulate.scenario import load_scenario


def simulate(
    scenario_file: Annotated[
        Path,
        typer.Argument(
            help="Scenario YAML: start, timed events (declare, ack, status, severity, "
            "assign, note, update, mitigation) and until.",
            exists=True,
            dir_okay=False,
        ),
    ],
    policy_file: Annotated[
        Path,
        typer.Option(
            "--policy",
            help="The policy file to run the scenario under.",
            exists=True,
            dir_okay=False,
        ),
    ],
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", help="Print only these kinds (page, notify, reminder, sla_warning, ...)."
        ),
    ] = None,
) -> None:
    """Who gets paged, told and reminded, when: run a scenario through the real engine.

    Runs the production services and job handlers on a throwaway database with a virtual
    clock, and prints one JSON object per effect (JSON Lines), in time order.
    """
    policy_text = policy_file.read_text(encoding="utf-8")
    try:
        policy = load_policy_text(policy_text, str(policy_file))
        scenario = load_scenario(scenario_file.read_text(encoding="utf-8"), str(scenario_file))
        effects = asyncio.run(run_simulation(policy_text, scenario, source=str(policy_file)))
    except TocsinError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        details = exc.details
        problems = details.get("problems", []) if isinstance(details, dict) else details or []
        for problem in problems:
            typer.echo(f"  - {detail_text(problem)}", err=True)
        raise typer.Exit(1) from exc
    zone = ZoneInfo(policy.organization.timezone)
    for effect in effects:
        if only and effect.kind not in only:
            continue
        typer.echo(json.dumps(effect.as_json(zone), ensure_ascii=False))
