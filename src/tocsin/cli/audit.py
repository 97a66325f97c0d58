"""``tocsin audit``: read the audit log (admins)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when


def audit(
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. incident.declared.")
    ] = None,
    object_id: Annotated[
        str | None, typer.Option("--object", help="Only this object, e.g. an incident id.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log, newest first: who changed what, when, before and after."""
    params: dict[str, Any] = {"limit": limit}
    if action:
        params["action"] = action
    if object_id:
        params["object_id"] = object_id
    rows = api("GET", "/audit", params=params)
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (when(r["at"]), r["actor"], r["action"], f"{r['object_type']}:{r['object_id']}")
            for r in rows
        ],
        ["time", "actor", "action", "object"],
    )
