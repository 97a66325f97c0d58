"""Fixtures for the CLI tests.

The CLI calls ``asyncio.run`` itself, so these tests are plain (sync) functions; the
database is prepared with the CLI, or with ``asyncio.run`` where a helper is needed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Protocol

import pytest
from tests.conftest import empty
from typer.testing import CliRunner, Result

from tocsin.cli.main import app
from tocsin.db import Database
from tocsin.settings import Settings

#: Environment the CLI must not pick up from the shell running the tests.
_UNSET: dict[str, str | None] = {"TOCSIN_USER": None, "TOCSIN_SERVER": None, "TOCSIN_TOKEN": None}


async def _truncate(url: str) -> None:
    db = Database(Settings(database_url=url))
    try:
        await empty(db)
    finally:
        await db.dispose()


@pytest.fixture
def cli_db(db_url: str) -> str:
    """``db_url``, emptied first on PostgreSQL (a database shared by the whole run)."""
    if db_url.startswith("postgresql"):
        asyncio.run(_truncate(db_url))
    return db_url


class Cli(Protocol):
    def __call__(self, *args: str, as_user: str | None = None, code: int = 0) -> Result: ...


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env={**_UNSET, **env})


def describe(result: Result) -> str:
    """Everything a failed assertion needs to see."""
    return (
        f"exit code {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n"
        f"{result.stderr}\n--- exception\n{result.exception!r}"
    )


@pytest.fixture
def cli(cli_db: str) -> Cli:
    """Run ``tocsin [--as USER] ARGS...`` on the test database; checks the exit code."""

    def run(*args: str, as_user: str | None = None, code: int = 0) -> Result:
        prefix = ["--as", as_user] if as_user else []
        result = invoke([*prefix, *args], {"TOCSIN_DATABASE_URL": cli_db})
        assert result.exit_code == code, describe(result)
        if code == 1:
            # An error the user can act on: a message, never a traceback.
            assert result.stderr.startswith("error: "), describe(result)
            assert "Traceback" not in result.output, describe(result)
            assert isinstance(result.exception, SystemExit), describe(result)
        return result

    return run


@pytest.fixture
def cli_json(cli: Cli) -> Callable[..., Any]:
    """Run a command with ``--json`` and decode what it printed."""

    def run(*args: str, as_user: str | None = None) -> Any:
        return json.loads(cli(*args, "--json", as_user=as_user).stdout)

    return run
