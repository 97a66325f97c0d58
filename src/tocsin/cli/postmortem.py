"""``tocsin postmortem ...``: the blameless postmortem of an incident, from the policy's
template; export to Markdown, edit, import back; review; root cause; meeting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, fields, table, when

app = typer.Typer(help="Create, edit, review and export postmortems.", no_args_is_help=True)
Ref = Annotated[str, typer.Argument(help="The incident, e.g. INC-2026-01-15-001.")]


def _path(ref: str, rest: str = "") -> str:
    return f"/incidents/{ref}/postmortem{rest}"


def _show(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(out)
        return
    reviewers = ", ".join(
        r["email"] + (" (approved)" if r["approved_at"] else "") for r in out["reviewers"]
    )
    fields(
        [
            ("Incident", out["incident"]),
            ("Title", out["title"]),
            ("Status", out["status"]),
            ("Template", out["template"]),
            ("Author", out["author"]),
            ("Reviewers", reviewers),
            ("Root cause", out["root_cause"]),
            ("Meeting", when(out["meeting_at"])),
            ("Due", when(out["due_at"])),
            ("Updated", when(out["updated_at"])),
        ]
    )
    if out["deadlines"]:
        typer.echo("\nDeadlines")
        table(
            [
                (
                    d["name"],
                    when(d["due_at"]),
                    "met" if d["met"] else ("OVERDUE" if d["overdue"] else "open"),
                    d["done_when"],
                )
                for d in out["deadlines"]
            ],
            ["deadline", "due", "state", "met when"],
        )
    typer.echo("\nSections")
    table(
        [
            (
                s["key"],
                "#" * s["level"] + " " + s["heading"],
                (s["body"].splitlines() or [""])[0][:50],
            )
            for s in out["sections"]
        ],
        ["key", "heading", "begins"],
    )


@app.command("create")
def create(
    ref: Ref,
    template: Annotated[
        str | None, typer.Option("--template", "-t", help="A template of the policy.")
    ] = None,
    timeline: Annotated[
        str | None,
        typer.Option(help="Pre-fill the timeline with 'all' events or the 'pinned' ones."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the postmortem from the policy's template, pre-filled from the incident.

    Resolving an incident whose severity requires a postmortem creates it already.
    """
    body = {k: v for k, v in (("template", template), ("timeline", timeline)) if v is not None}
    _show(api("POST", _path(ref), json=body), as_json)


@app.command("show")
def show(ref: Ref, as_json: JsonOpt = False) -> None:
    """The postmortem: status, reviewers, deadlines and sections."""
    _show(api("GET", _path(ref)), as_json)


@app.command("export")
def export(
    ref: Ref,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """The postmortem as Markdown, to edit and import back."""
    text = api("GET", _path(ref, ".md"), text=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {output}")


@app.command("import")
def import_(
    ref: Ref,
    source: Annotated[Path, typer.Argument(help="The edited Markdown file ('-' for stdin).")],
    as_json: JsonOpt = False,
) -> None:
    """Read an edited Markdown export back into the postmortem's sections."""
    text = (
        typer.get_text_stream("stdin").read()
        if str(source) == "-"
        else source.read_text(encoding="utf-8")
    )
    out = api("POST", _path(ref, "/import"), json={"markdown": text})
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"Imported into the postmortem of {out['incident']} ({out['status']}).")


@app.command("status")
def status(
    ref: Ref,
    new_status: Annotated[str, typer.Argument(help="draft, in_review or final.")],
    reviewer: Annotated[
        list[str] | None,
        typer.Option("--reviewer", "-r", help="Add a reviewer (e-mail; repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the postmortem: draft → in_review (with reviewers) → final (all approved)."""
    body = {"status": new_status, "reviewers": reviewer or []}
    _show(api("POST", _path(ref, "/status"), json=body), as_json)


@app.command("approve")
def approve(ref: Ref, as_json: JsonOpt = False) -> None:
    """Approve the postmortem under review (as one of its reviewers)."""
    _show(api("POST", _path(ref, "/approve")), as_json)


@app.command("meeting")
def meeting(
    ref: Ref,
    at: Annotated[
        str | None, typer.Argument(help="When, with a zone: 2026-01-16T10:00:00+01:00.")
    ] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="No meeting planned.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Plan the postmortem meeting (this meets the meeting deadline)."""
    if (at is not None) != cancel:
        _show(api("PUT", _path(ref, "/meeting"), json={"at": at}), as_json)
        return
    typer.echo("error: give a time or --cancel", err=True)
    raise typer.Exit(2)


@app.command("root-cause")
def root_cause(
    ref: Ref,
    cause: Annotated[
        str | None, typer.Argument(help="A key or name of the policy's root_causes.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Record no root cause.")] = False,
) -> None:
    """Record the incident's root cause category, for reports."""
    if (cause is not None) == clear:
        typer.echo("error: give a root cause or --clear", err=True)
        raise typer.Exit(2)
    out = api("PUT", f"/incidents/{ref}/root-cause", json={"root_cause": cause})
    typer.echo(f"Root cause of {ref.upper()}: {out['root_cause'] or 'none'}")


@app.command("pin")
def pin(
    ref: Ref,
    event: Annotated[int, typer.Argument(help="The timeline event's id.", min=1)],
    unpin: Annotated[bool, typer.Option("--unpin", help="Take the pin away.")] = False,
) -> None:
    """Pin a timeline event for postmortems that show the pinned events only."""
    api("DELETE" if unpin else "PUT", f"/incidents/{ref}/timeline/{event}/pin")
    typer.echo(f"{'Unpinned' if unpin else 'Pinned'} event {event} of {ref.upper()}.")
