"""``tocsin jobs ...``: the durable job table (admins): dead jobs and their retry."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when

app = typer.Typer(
    help="Inspect background jobs (timers, notifications) and retry dead ones (admins).",
    no_args_is_help=True,
)

STATUSES = ("pending", "running", "done", "dead", "cancelled")


def _first_line(text: str | None, width: int = 60) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0]
    return line if len(line) <= width else line[: width - 1] + "…"


@app.command("list")
def list_jobs(
    status: Annotated[
        str,
        typer.Option(help=f"Only jobs with this status: {', '.join(STATUSES)}."),
    ] = "dead",
    limit: Annotated[int, typer.Option(help="At most this many jobs.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List jobs; by default the dead ones, which failed every attempt and need a person."""
    rows: list[dict[str, Any]] = api("GET", "/jobs", params={"status": status, "limit": limit})
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo(f"No {status} jobs.")
        return
    table(
        [
            (
                r["id"],
                r["kind"],
                r["status"],
                f"{r['attempts']}/{r['max_attempts']}",
                when(
                    r["finished_at"]
                    if r["status"] in ("done", "dead", "cancelled")
                    else r["due_at"]
                ),
                _first_line(r["last_error"]),
            )
            for r in rows
        ],
        ["id", "kind", "status", "attempts", "due/finished", "last error"],
    )


@app.command("retry")
def retry(
    job_id: Annotated[int, typer.Argument(help="The dead job's id (from `tocsin jobs list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Run a dead job again: pending, due now, attempts counted from zero."""
    job = api("POST", f"/jobs/{job_id}/retry")
    if as_json:
        emit_json(job)
        return
    typer.echo(f"Job {job['id']} ({job['kind']}) is pending again, due now.")
    if job.get("last_error"):
        typer.echo(f"Its last error: {_first_line(job['last_error'], 100)}")
