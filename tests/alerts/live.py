"""A real Tocsin server for tests that drive it with a real peer (PagerDuty's client, a
real Alertmanager): uvicorn running ``tocsin.app:create_server_app`` (the API and its job
worker, what ``tocsin serve`` runs) on a free local port, on the test's database, and
helpers that read what it made from that database."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import select, text
from tests.alerts.conftest import apply_policy_text, make_integration

from tocsin.alerts.models import Alert, AlertEvent
from tocsin.clock import SystemClock
from tocsin.context import Context
from tocsin.db import Base, Database
from tocsin.settings import Settings

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def clear(db: Database) -> None:
    """Empty the shared PostgreSQL test database (each SQLite test has a file of its own)."""
    if db.dialect == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with db.write_engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def prepare(url: str, name: str, type_: str = "pagerduty") -> str:
    """An empty database with the test policy and one integration; returns its key."""
    db = Database(Settings(database_url=url))
    try:
        await clear(db)
        ctx = Context(settings=db.settings, db=db, clock=SystemClock())
        await apply_policy_text(ctx)
        return await make_integration(ctx, name, type_=type_)
    finally:
        await db.dispose()


async def alert_rows(url: str) -> list[Alert]:
    db = Database(Settings(database_url=url))
    try:
        async with db.read() as session:
            return list((await session.scalars(select(Alert).order_by(Alert.id))).all())
    finally:
        await db.dispose()


async def _pending(url: str) -> int:
    db = Database(Settings(database_url=url))
    try:
        async with db.read() as session:
            rows = await session.scalars(select(AlertEvent.id).where(AlertEvent.outcome.is_(None)))
            return len(rows.all())
    finally:
        await db.dispose()


def settled(url: str, timeout: float = 30.0) -> list[tuple[str, str, int]]:
    """The alerts once the server's worker has processed every event."""
    deadline = time.monotonic() + timeout
    while asyncio.run(_pending(url)):
        if time.monotonic() > deadline:
            pytest.fail("the server's worker did not process the events")
        time.sleep(0.1)
    return [(a.dedup_key, a.status, a.count) for a in asyncio.run(alert_rows(url))]


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """``probe()`` once it gives something, polling; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


@contextmanager
def serve(
    db_url: str, folder: Path, *, public: str | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """Run the server until the block ends; yields its base URL (https with ``tls``:
    certificate and key files)."""
    port = free_port()
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=db_url, TOCSIN_PUBLIC_URL=public or base)
    command = [
        sys.executable, "-m", "uvicorn", "tocsin.app:create_server_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    verify: bool | ssl.SSLContext = True
    if tls is not None:
        command += ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])]
        verify = ssl.create_default_context(cafile=str(tls[0]))
    health = f"{base}/api/v1/health"
    with running(command, folder / "server.log", health, env=env, verify=verify):
        yield base


@contextmanager
def running(
    command: list[str],
    log_path: Path,
    ready: str,
    *,
    what: str = "the server",
    env: dict[str, str] | None = None,
    verify: bool | ssl.SSLContext = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (its output in ``log_path``) until the block ends, once ``ready``
    answers 200."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(ready, process, log_path, what=what, verify=verify)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    *,
    what: str = "the server",
    verify: bool | ssl.SSLContext = True,
) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it dies first or
    takes over a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start:\n" + log_path.read_text())
        time.sleep(0.05)
