"""What every command shares: the target, ``--json``, and calling the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.client import CliError, Target, request

#: Set by the root callback from --server/--token/--as (or their environment variables).
TARGET = Target()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]


def api(method: str, path: str, *, json: Any = None, params: Any = None, text: bool = False) -> Any:
    """Call the API; on an error answer print it and exit 1."""
    try:
        return request(TARGET, method, path, json=json, params=params, text=text)
    except CliError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        body = exc.body if isinstance(exc.body, dict) else {}
        details = (body.get("error") or {}).get("details") if body else None
        if isinstance(details, list):
            for item in details:
                typer.echo(f"  - {detail_text(item)}", err=True)
        raise typer.Exit(1) from exc


def detail_text(item: Any) -> str:
    if isinstance(item, dict):
        where = item.get("location") or item.get("path") or ""
        line = f"{item['file']}:{item['line']}: " if item.get("file") and item.get("line") else ""
        return f"{line}{where}: {item.get('message', '')}".strip(": ")
    return str(item)
