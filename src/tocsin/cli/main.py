"""The ``tocsin`` command."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli import (
    actions,
    comms,
    incident,
    jobs,
    oncall,
    people,
    policy,
    postmortem,
    statuspage,
)
from tocsin.cli.alerts import app as alerts_app
from tocsin.cli.audit import audit
from tocsin.cli.common import TARGET
from tocsin.cli.integration import app as integration_app
from tocsin.cli.maintenance import app as maintenance_app
from tocsin.cli.report import report
from tocsin.cli.simulate import simulate
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.jobs.service import DEFAULT_LEASE
from tocsin.settings import Settings

app = typer.Typer(
    name="tocsin",
    help="Tocsin: incident response run by policy. Declare, acknowledge, escalate, resolve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(incident.app, name="incident")
app.add_typer(policy.app, name="policy")
app.add_typer(people.users, name="user")
app.add_typer(people.tokens, name="token")
app.add_typer(people.teams, name="team")
app.add_typer(jobs.app, name="jobs")
app.add_typer(oncall.app, name="oncall")
app.add_typer(alerts_app, name="alerts")
app.add_typer(integration_app, name="integration")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(comms.app, name="comms")
app.add_typer(statuspage.app, name="statuspage")
app.add_typer(postmortem.app, name="postmortem")
app.add_typer(actions.app, name="actions")
app.command("audit")(audit)
app.command("simulate")(simulate)
app.command("report")(report)


@app.callback()
def root(
    server: Annotated[
        str | None,
        typer.Option(
            envvar="TOCSIN_SERVER", help="Talk to this Tocsin server's API instead of the database."
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="TOCSIN_TOKEN", help="API token for --server.")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            envvar="TOCSIN_USER",
            help="With direct database access: act as this person (default: the built-in system actor).",
        ),
    ] = None,
) -> None:
    TARGET.server, TARGET.token, TARGET.as_user = server, token, as_user


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (TOCSIN_DATABASE_URL; default ./var/tocsin.db)."""
    from tocsin.migrate import upgrade

    async def run() -> None:
        db = Database(Settings())
        try:
            await upgrade(db.write_engine)
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo("Database is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (production; needs PostgreSQL for more than 1). Each also runs a job worker unless --no-worker."
        ),
    ] = 1,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Serve the API only, without the job worker (escalations, reminders, notifications) that runs in the server process by default; for when `tocsin worker` runs elsewhere.",
        ),
    ] = False,
    admin_email: Annotated[
        str,
        typer.Option(
            envvar="TOCSIN_ADMIN_EMAIL",
            help="E-mail of the first admin, created on the first start.",
        ),
    ] = "admin@example.com",
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="Policy to apply on the first start (default: the built-in default policy).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Set up (migrate, default policy, first admin) and run the server (API and job worker)."""
    import uvicorn

    from tocsin.bootstrap import bootstrap

    settings = Settings()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        typer.echo("error: --workers > 1 needs PostgreSQL (set TOCSIN_DATABASE_URL)", err=True)
        raise typer.Exit(2)

    async def setup() -> None:
        db = Database(settings)
        try:
            result = await bootstrap(
                db, clock=SystemClock(), admin_email=admin_email, policy_file=policy_file
            )
        finally:
            await db.dispose()
        if result.policy_applied:
            typer.echo(
                f"Applied {policy_file or 'the default policy'} as policy version {result.policy_version}"
            )
        if result.admin is not None:
            typer.echo("First admin created. These are shown once; store them now:")
            typer.echo(f"  login:     {result.admin.email}")
            typer.echo(f"  password:  {result.admin.password}")
            typer.echo(f"  API token: {result.admin.token}")

    asyncio.run(setup())
    url = f"http://{host}:{port}"
    what = "API only, no job worker" if no_worker else "with a job worker"
    typer.echo(f"Tocsin is running at {url}  (API docs: {url}/docs; {what})", color=False)
    uvicorn.run(
        "tocsin.app:create_app" if no_worker else "tocsin.app:create_server_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@app.command()
def worker(
    concurrency: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Job workers in this process (each runs one job at a time)."
        ),
    ] = 1,
    lease: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a claimed job stays this worker's; if the worker dies, others run the job after that.",
        ),
    ] = DEFAULT_LEASE.total_seconds(),
) -> None:
    """Run job workers only, no API, until Ctrl-C or SIGTERM (see also `serve --no-worker`)."""
    from tocsin.jobs.registry import kinds, load_handlers
    from tocsin.jobs.worker import Worker

    settings = Settings()
    try:
        load_handlers(settings)
    except ImportError as exc:
        typer.echo(f"error: cannot load the job handlers: {exc}", err=True)
        raise typer.Exit(1) from exc

    async def run() -> None:
        db = Database(settings)
        workers = [
            Worker(db, SystemClock(), lease=timedelta(seconds=lease)) for _ in range(concurrency)
        ]

        def stop() -> None:
            if any(each.stopping for each in workers):  # asked twice: do not wait
                for task in tasks:
                    task.cancel()
            for each in workers:
                each.stop()

        tasks = [asyncio.create_task(each.run_forever()) for each in workers]
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        try:
            known = ", ".join(kinds()) or "none"
            process = workers[0].worker_id.rsplit(":", 1)[0]
            typer.echo(
                f"Tocsin worker running on {db.dialect}: {concurrency} worker(s) in {process}, "
                f"lease {lease:g}s, job kinds: {known}"
            )
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await db.dispose()
        crashed = [r for r in results if isinstance(r, Exception)]
        if crashed:
            typer.echo(f"error: a job worker crashed: {crashed[0]!r}", err=True)
            raise typer.Exit(1)

    run_fast(run())
    typer.echo("Tocsin worker stopped")


def run_fast(work: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (as uvicorn does for the API): its sockets and
    loop cost a worker a fraction of asyncio's CPU per database round trip and send."""
    try:
        import uvloop
    except ImportError:  # Windows, or installed without it
        asyncio.run(work)
    else:
        uvloop.run(work)


def main() -> None:
    app()
