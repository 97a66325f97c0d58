"""What the benchmarks that start real Tocsin processes share: a fresh PostgreSQL database,
a free port, a ``tocsin`` process, waiting for its API, and p50 / p99 / max of samples."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys

import asyncpg
import httpx
from sqlalchemy.engine import make_url


async def fresh_database(url: str) -> None:
    """Drop and create the database ``url`` names (on the server it names)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tocsin(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``tocsin ARGS`` on the database ``url``, as a process of its own."""
    environment = {**os.environ, "TOCSIN_DATABASE_URL": url, **(env or {})}
    command = [sys.executable, "-c", "from tocsin.cli.main import main; main()", *args]
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )


async def wait_ready(base: str) -> None:
    """Until the API at ``base`` answers its health check (at most 20 s)."""
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{base}/api/v1/health")).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not start")


def figures(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]
