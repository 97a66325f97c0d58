"""``tocsin comms ...``: preview and send an incident's messages from templates."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table

app = typer.Typer(
    help="Message templates: list them, preview one with an incident's fields, send it.",
    no_args_is_help=True,
)

Ref = Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-01-15-001.")]
TemplateOpt = Annotated[
    str,
    typer.Option(
        "--template", "-t", help="A template key, e.g. incident-update (see `comms templates`)."
    ),
]
LocaleOpt = Annotated[
    str | None,
    typer.Option(help="en or nl; default: the recipient's, else the organisation's locale."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="NAME=VALUE",
        help="What you fill in for this message (repeatable): an update field such as "
        "progress, next_steps, eta, root_cause (or update.NAME), or notice.reason.",
    ),
]


def _fields(pairs: list[str] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise typer.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--set")
        values[name.strip()] = value
    return values


@app.command()
def templates(as_json: JsonOpt = False) -> None:
    """List the templates: built in (English and Dutch) and the policy's own."""
    rows = api("GET", "/templates")
    if as_json:
        emit_json(rows)
        return
    table(
        [(t["key"], t["locale"], t["source"], t["description"]) for t in rows],
        ["template", "locale", "source", "description"],
    )


@app.command()
def preview(
    ref: Ref,
    template: TemplateOpt,
    locale: LocaleOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a template rendered with the incident's real fields (nothing is sent).

    A field the incident has not filled in yet shows as [not known yet: NAME].
    """
    body = {"template": template, "locale": locale, "update": _fields(set_)}
    rendered = api("POST", f"/incidents/{ref}/comms/preview", json=body)
    if as_json:
        emit_json(rendered)
        return
    typer.echo(f"Subject: {rendered['subject']}")
    typer.echo(f"({rendered['template']}, {rendered['locale']})\n")
    typer.echo(rendered["text"], nl=False)
    if rendered.get("html"):
        typer.echo("\n(This template also has an HTML part for e-mail; --json shows it.)")


@app.command()
def send(
    ref: Ref,
    template: TemplateOpt,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel", "-c", help="A channel key of the policy (default: its first chat channel)."
        ),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="Recipient for e-mail, SMS, voice or Apprise channels (repeatable): an address, "
            "or role:KEY, user:HANDLE, team:KEY, schedule:KEY.",
        ),
    ] = None,
    locale: LocaleOpt = None,
    set_: SetOpt = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Run the command again with the same key and nothing is sent twice."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a template through a channel (needs the send-communications permission)."""
    body: dict[str, Any] = {
        "template": template,
        "channel": channel,
        "to": to or [],
        "locale": locale,
        "update": _fields(set_),
        "idempotency_key": idempotency_key,
    }
    rows = api("POST", f"/incidents/{ref}/comms", json=body)
    if as_json:
        emit_json(rows)
        return
    typer.echo(f"Queued {len(rows)} message(s) for {ref.upper()}:")
    table(
        [(r["id"], r["channel"], r["recipient"], r["status"], r["subject"]) for r in rows],
        ["id", "channel", "recipient", "status", "subject"],
    )
