"""``tocsin user ...`` and ``tocsin token ...``: people and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when

users = typer.Typer(help="Add and list people.", no_args_is_help=True)
tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
teams = typer.Typer(help="List and set teams.", no_args_is_help=True)


@users.command("add")
def add_user(
    email: Annotated[str, typer.Argument(help="The person's e-mail (their login).")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give admin rights.")] = False,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="A standing role of the policy (repeatable).")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password for the web sign-in (min. 8 characters).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a person."""
    user = api(
        "POST",
        "/users",
        json={
            "email": email,
            "name": name,
            "admin": admin,
            "roles": role or [],
            "password": password,
        },
    )
    if as_json:
        emit_json(user)
    else:
        typer.echo(
            f"Added {user['email']} ({user['name']})" + (" as admin" if user["is_admin"] else "")
        )


@users.command("list")
def list_users(as_json: JsonOpt = False) -> None:
    """List people."""
    rows = api("GET", "/users")
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (u["email"], u["name"], "yes" if u["is_admin"] else "", ", ".join(u["roles"]))
            for u in rows
        ],
        ["email", "name", "admin", "roles"],
    )


@tokens.command("create")
def create_token(
    email: Annotated[str, typer.Argument(help="Whose token.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create an API token. The secret is shown once: store it now."""
    token = api("POST", "/tokens", json={"email": email, "name": name})
    if as_json:
        emit_json(token)
    else:
        typer.echo(f"Token {token['id']} for {token['user']} (shown once):\n{token['token']}")


@tokens.command("list")
def list_tokens(as_json: JsonOpt = False) -> None:
    """List API tokens (never their secrets)."""
    rows = api("GET", "/tokens")
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                t["id"],
                t["user"],
                t["name"],
                t["prefix"] + "...",
                when(t["last_used_at"]),
                "revoked" if t["revoked_at"] else "active",
            )
            for t in rows
        ],
        ["id", "user", "name", "prefix", "last used", "state"],
    )


@tokens.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke an API token."""
    token = api("DELETE", f"/tokens/{token_id}")
    if as_json:
        emit_json(token)
    else:
        typer.echo(f"Token {token['id']} of {token['user']} revoked")


@teams.command("list")
def list_teams(as_json: JsonOpt = False) -> None:
    """List teams and their members."""
    rows = api("GET", "/teams")
    if as_json:
        emit_json(rows)
        return
    table(
        [(t["key"], t["name"], ", ".join(t["members"])) for t in rows], ["key", "name", "members"]
    )


@teams.command("set")
def set_team(
    key: Annotated[str, typer.Argument(help="Team key, e.g. platform.")],
    name: Annotated[str, typer.Argument(help="Display name.")],
    member: Annotated[
        list[str] | None,
        typer.Option("--member", "-m", help="Member e-mail (repeatable); replaces the list."),
    ] = None,
    description: Annotated[str, typer.Option(help="What the team does.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a team or replace its name, description and members (admins)."""
    team = api(
        "PUT",
        "/teams",
        json={"key": key, "name": name, "description": description, "members": member or []},
    )
    if as_json:
        emit_json(team)
    else:
        typer.echo(f"Team {team['key']} ({team['name']}): {len(team['members'])} member(s)")
