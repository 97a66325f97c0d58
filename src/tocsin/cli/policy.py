"""``tocsin policy ...``: check, apply and show the policy file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when
from tocsin.policy.loader import parse_policy
from tocsin.policy.schema import Policy

app = typer.Typer(
    help="Check, apply and show the policy (how your organisation responds).", no_args_is_help=True
)

FileArg = Annotated[
    Path, typer.Argument(help="A policy YAML file.", exists=True, dir_okay=False, readable=True)
]


@app.command()
def check(
    files: Annotated[
        list[Path], typer.Argument(help="Policy YAML files.", exists=True, dir_okay=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Validate policy files; print every problem with file, line and path. Exit 1 if any."""
    report = []
    for path in files:
        policy, problems = parse_policy(path.read_text(encoding="utf-8"), str(path))
        report.append(
            {
                "file": str(path),
                "valid": policy is not None,
                "problems": [p.to_dict() for p in problems],
            }
        )
        if not as_json:
            if policy is not None:
                typer.echo(f"{path}: OK ({_summary(policy)})")
            for problem in problems:
                typer.echo(str(problem), err=True)
    if as_json:
        emit_json(report if len(report) > 1 else report[0])
    if not all(r["valid"] for r in report):
        raise typer.Exit(1)


@app.command()
def apply(file: FileArg, as_json: JsonOpt = False) -> None:
    """Store the file as the new policy version (admins). New incidents use it; running ones keep theirs."""
    content = file.read_text(encoding="utf-8")
    result = api("POST", "/policy", json={"content": content, "source": file.name})
    if as_json:
        emit_json(result)
    elif result["created"]:
        typer.echo(f"Applied {file} as policy version {result['version']['version']}")
    else:
        typer.echo(f"Unchanged: {file} is already policy version {result['version']['version']}")


@app.command()
def show(
    version: Annotated[
        int | None, typer.Option(help="A past version number; default the current one.")
    ] = None,
    versions: Annotated[
        bool, typer.Option("--versions", help="List all versions instead.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the current policy (or a past version, or the list of versions)."""
    if versions:
        rows = api("GET", "/policy/versions")
        if as_json:
            emit_json(rows)
        else:
            table(
                [(v["version"], when(v["applied_at"]), v["applied_by"], v["source"]) for v in rows],
                ["version", "applied", "by", "source"],
            )
        return
    result = api("GET", "/policy" if version is None else f"/policy/versions/{version}")
    if as_json:
        emit_json(result)
    else:
        typer.echo(
            f"# policy version {result['version']}, applied {when(result['applied_at'])} by {result['applied_by']}"
        )
        typer.echo(result["content"], nl=False)


def _summary(policy: Policy) -> str:
    """``4 severities, 10 roles, 30 checklists`` and the schedules, ladders and alert
    integrations, if any."""
    counts = [
        (len(policy.severities), "severity", "severities"),
        (len(policy.roles), "role", "roles"),
        (len(policy.checklists), "checklist", "checklists"),
        (len(policy.schedules), "schedule", "schedules"),
        (len(policy.escalation), "escalation ladder", "escalation ladders"),
        (len(policy.integrations), "integration", "integrations"),
    ]
    return ", ".join(
        f"{n} {one if n == 1 else many}" for i, (n, one, many) in enumerate(counts) if n or i < 3
    )
