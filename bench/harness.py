"""What the benchmarks that start real Tocsin processes share: a fresh PostgreSQL database,
a free port, a ``tocsin`` process, waiting for its API, and p50 / p99 / max of samples."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile

import asyncpg
import httpx
from sqlalchemy.engine import make_url


async def _on_server(url: str, *statements: str) -> None:
    """Run ``statements`` on the server ``url`` names (in its ``postgres`` database)."""
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def fresh_database(url: str) -> None:
    """Drop and create the database ``url`` names (on the server it names)."""
    name = make_url(url).database
    await _on_server(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


async def drop_database(url: str) -> None:
    """Drop the database ``url`` names, if it is there."""
    await _on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tocsin(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``tocsin ARGS`` on the database ``url``, as a process of its own. Its output goes
    to ``$BENCH_LOG_DIR/tocsin-<pid>.log`` when that is set (to see why it failed)."""
    environment = {**os.environ, "TOCSIN_DATABASE_URL": url, **(env or {})}
    command = [sys.executable, "-c", "from tocsin.cli.main import main; main()", *args]
    logs = os.environ.get("BENCH_LOG_DIR")
    output = (
        tempfile.NamedTemporaryFile(  # noqa: SIM115 - the process holds it
            "wb", dir=logs, prefix="tocsin-", suffix=".log", delete=False
        )
        if logs
        else subprocess.DEVNULL
    )
    return subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)


async def wait_ready(base: str) -> None:
    """Until the API at ``base`` answers its health check (at most 60 s: a busy machine)."""
    async with httpx.AsyncClient() as client:
        for _ in range(600):
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


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time each process used so far (Linux: user + system, from /proc)."""
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes alive at both."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def children(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        each = todo.pop()
        found.append(each)
        todo.extend(parents.get(each, []))
    return found


async def backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the database ``url`` (same machine)."""
    connection = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [int(r["pid"]) for r in rows]
