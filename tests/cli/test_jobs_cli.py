"""``tocsin jobs list`` and ``tocsin jobs retry``: dead jobs from the command line (admins),
and ``tocsin worker`` / ``tocsin serve --no-worker`` as far as they show without running."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner, Result

from tocsin.cli import main as cli_main
from tocsin.clock import VirtualClock
from tocsin.db import Database
from tocsin.jobs import service as jobs
from tocsin.jobs.worker import run_due
from tocsin.settings import Settings

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "src" / "tocsin" / "policy" / "default.yaml"
Run = Callable[..., Result]
RunJson = Callable[..., Any]
KIND = "test.cli.never"  # no handler: it fails on every attempt


async def _dead_job(url: str) -> int:
    """A job that failed its only attempt."""
    db = Database(Settings(database_url=url))
    clock = VirtualClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    try:
        async with db.write() as session:
            job = await jobs.enqueue(session, KIND, {"to": "ops"}, clock=clock, max_attempts=1)
        await run_due(db, clock, "cli-test")
        return job.id
    finally:
        await db.dispose()


@pytest.fixture
def dead_job(cli_db: str) -> int:
    return asyncio.run(_dead_job(cli_db))


def test_jobs_list_and_retry(cli: Run, cli_json: RunJson, dead_job: int) -> None:
    listed = cli("jobs", "list")
    assert "last error" in listed.stdout
    (row,) = [line for line in listed.stdout.splitlines() if line.startswith(str(dead_job))]
    assert KIND in row and "dead" in row and "1/1" in row
    assert f"no handler for kind '{KIND}'" in row

    (dead,) = cli_json("jobs", "list", "--status", "dead")
    assert (dead["id"], dead["status"], dead["payload"]) == (dead_job, "dead", {"to": "ops"})
    assert "No pending jobs." in cli("jobs", "list", "--status", "pending").stdout

    retried = cli("jobs", "retry", str(dead_job))
    assert f"Job {dead_job} ({KIND}) is pending again" in retried.stdout
    assert "no handler for kind" in retried.stdout
    (pending,) = cli_json("jobs", "list", "--status", "pending")
    assert (pending["id"], pending["attempts"]) == (dead_job, 0)

    again = cli("jobs", "retry", str(dead_job), code=1)
    assert "only dead jobs are retried" in again.stderr
    assert "no job 424242" in cli("jobs", "retry", "424242", code=1).stderr
    assert "status" in cli("jobs", "list", "--status", "zombie", code=1).stderr


def test_jobs_need_admin_rights(cli: Run, dead_job: int) -> None:
    cli("policy", "apply", str(DEFAULT_POLICY))
    cli("user", "add", "viewer@example.com")
    denied = cli("jobs", "list", as_user="viewer@example.com", code=1)
    assert "needs admin rights" in denied.stderr
    cli("jobs", "retry", str(dead_job), as_user="viewer@example.com", code=1)
    cli("user", "add", "root@example.com", "--admin")
    assert str(dead_job) in cli("jobs", "list", as_user="root@example.com").stdout


def test_every_job_command_has_help() -> None:
    group = typer.main.get_group(cli_main.app)
    for path in (["jobs"], ["jobs", "list"], ["jobs", "retry"], ["worker"], ["serve"]):
        result = CliRunner().invoke(cli_main.app, [*path, "--help"])
        assert result.exit_code == 0, result.output
    assert "jobs" in group.commands and "worker" in group.commands
    assert "--no-worker" in CliRunner().invoke(cli_main.app, ["serve", "--help"]).output
    worker_help = CliRunner().invoke(cli_main.app, ["worker", "--help"]).output
    assert "--concurrency" in worker_help and "--lease" in worker_help


@pytest.mark.parametrize(
    ("args", "factory"),
    [([], "tocsin.app:create_server_app"), (["--no-worker"], "tocsin.app:create_app")],
)
def test_serve_runs_the_worker_unless_told_not_to(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, args: list[str], factory: str
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda target, **options: served.update(target=target))
    result = CliRunner().invoke(cli_main.app, ["serve", *args], env={"TOCSIN_DATABASE_URL": cli_db})
    assert result.exit_code == 0, result.output
    assert served["target"] == factory
    assert ("API only" in result.stdout) == bool(args)


def test_worker_reports_a_handler_module_it_cannot_load(cli_db: str) -> None:
    result = CliRunner().invoke(
        cli_main.app,
        ["worker"],
        env={"TOCSIN_DATABASE_URL": cli_db, "TOCSIN_HANDLER_MODULES": "tocsin.no_such_module"},
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot load the job handlers")
