"""``tocsin actions ...``: follow-up action items across incidents, tracked to done."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when

app = typer.Typer(help="List, add and close action items.", no_args_is_help=True)
Ref = Annotated[str, typer.Argument(help="The incident, e.g. INC-2026-01-15-001.")]
Number = Annotated[int, typer.Argument(help="The action item's # within the incident.", min=1)]


def _line(item: dict[str, Any]) -> str:
    due = f", due {when(item['due_at'])}" if item["due_at"] else ""
    late = " OVERDUE" if item["overdue"] else ""
    return (
        f"{item['incident']} #{item['number']} [{item['status']}{late}] {item['title']} "
        f"(@{item['owner']}, {item['priority']}{due})"
    )


@app.command("list")
def list_(
    owner: Annotated[str | None, typer.Option("--owner", "-o", help="Only this person's.")] = None,
    team: Annotated[str | None, typer.Option("--team", "-t", help="Only this team's.")] = None,
    incident: Annotated[
        str | None, typer.Option("--incident", "-i", help="Only this incident's.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            help="open, in_progress, done, wont_do (repeatable; default: open ones).",
        ),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Open and in-progress action items across every incident you may see, soonest due first."""
    params: dict[str, Any] = {"status": status or [], "overdue": overdue, "limit": limit}
    params |= {k: v for k, v in (("owner", owner), ("team", team), ("incident", incident)) if v}
    out = api("GET", "/action-items", params=params)
    if as_json:
        emit_json(out)
        return
    if not out["items"]:
        typer.echo("No action items.")
        return
    table(
        [
            (
                i["incident"],
                i["number"],
                i["status"] + (" OVERDUE" if i["overdue"] else ""),
                i["priority"],
                "@" + i["owner"],
                i["team"],
                when(i["due_at"]),
                i["title"][:60],
            )
            for i in out["items"]
        ],
        ["incident", "#", "status", "priority", "owner", "team", "due", "title"],
    )
    if out["total"] > len(out["items"]):
        typer.echo(f"({len(out['items'])} of {out['total']}; --limit for more)")


@app.command("add")
def add(
    ref: Ref,
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    owner: Annotated[str, typer.Option("--owner", "-o", help="Who: a handle or e-mail.")],
    due: Annotated[
        str | None, typer.Option("--due", "-d", help="Due date (YYYY-MM-DD, end of that day).")
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", "-p", help="A policy priority.")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", "-t", help="Default: the owner's team.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Link to the external tracker.")] = None,
    description: Annotated[str, typer.Option("--description", help="More detail.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add an action item to an incident; its owner is reminded before the due date."""
    body: dict[str, Any] = {"title": title, "owner": owner, "description": description}
    body |= {
        k: v
        for k, v in (("due_on", due), ("priority", priority), ("team", team), ("url", url))
        if v is not None
    }
    item = api("POST", f"/incidents/{ref}/action-items", json=body)
    if as_json:
        emit_json(item)
    else:
        typer.echo(f"Added {_line(item)}")


@app.command("done")
def done(
    ref: Ref,
    number: Number,
    wont_do: Annotated[bool, typer.Option("--wont-do", help="Close it as won't do.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Close an action item as done (or won't do)."""
    body = {"status": "wont_do" if wont_do else "done"}
    item = api("PATCH", f"/incidents/{ref}/action-items/{number}", json=body)
    if as_json:
        emit_json(item)
    else:
        typer.echo(_line(item))


@app.command("update")
def update(
    ref: Ref,
    number: Number,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="open, in_progress, done or wont_do.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", "-o")] = None,
    due: Annotated[str | None, typer.Option("--due", "-d", help="YYYY-MM-DD.")] = None,
    priority: Annotated[str | None, typer.Option("--priority", "-p")] = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
    url: Annotated[str | None, typer.Option("--url")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an action item (status, owner, due date, priority, title, tracker link)."""
    body = {
        k: v
        for k, v in (
            ("status", status),
            ("owner", owner),
            ("due_on", due),
            ("priority", priority),
            ("title", title),
            ("url", url),
        )
        if v is not None
    }
    item = api("PATCH", f"/incidents/{ref}/action-items/{number}", json=body)
    if as_json:
        emit_json(item)
    else:
        typer.echo(_line(item))
