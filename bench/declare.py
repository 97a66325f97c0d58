"""Declaration throughput and API latency, with a baseline from the same run.

Baseline: a bare one-row INSERT transaction on the same database. The figure that
matters is the ratio: what a full declaration (counter upsert, incident, SLA due times,
participant, timeline, audit, checklists) costs compared with the cheapest write.

    .venv/bin/python bench/declare.py [--n 300] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tocsin.app import create_app
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.settings import Settings

POLICY = resources.files("tocsin.policy").joinpath("default.yaml").read_text(encoding="utf-8")


async def _prepare(url: str) -> Database:
    db = Database(Settings(database_url=url))
    await upgrade(db.write_engine)
    async with db.write() as session:
        await policies.apply(session, SYSTEM, POLICY, clock=SystemClock())
        await session.execute(text("CREATE TABLE IF NOT EXISTS bench_baseline (v TEXT)"))
    return db


async def _timed(n: int, op) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await op(i)
        samples.append(time.perf_counter() - start)
    return samples


async def run(url: str, label: str, n: int) -> None:
    db = await _prepare(url)
    clock = SystemClock()
    try:

        async def baseline(i: int) -> None:
            async with db.write() as session:
                await session.execute(
                    text("INSERT INTO bench_baseline (v) VALUES (:v)"), {"v": str(i)}
                )

        async def declare(i: int) -> None:
            async with db.write() as session:
                data = DeclareIn(title=f"bench {i}", severity="SEV2", type="outage")
                await incidents.declare(session, SYSTEM, data, clock=clock)

        base = await _timed(n, baseline)
        full = await _timed(n, declare)

        async with db.write() as session:
            await auth.create_user(session, SYSTEM, "bench@example.com", clock=clock, is_admin=True)
            _, token = await auth.create_token(session, SYSTEM, "bench@example.com", clock=clock)
        app = create_app(db.settings, database=db)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://b", headers=headers
        ) as http:

            async def api_declare(i: int) -> None:
                r = await http.post(
                    "/api/v1/incidents", json={"title": f"api {i}", "severity": "SEV2"}
                )
                assert r.status_code == 201

            api = await _timed(n, api_declare)
        parallel_start = time.perf_counter()
        await asyncio.gather(*(declare(i) for i in range(n)))
        parallel = time.perf_counter() - parallel_start
    finally:
        await db.dispose()

    def ms(samples: list[float], q: float) -> float:
        return statistics.quantiles(samples, n=100)[int(q) - 1] * 1000

    b50, d50 = statistics.median(base) * 1000, statistics.median(full) * 1000
    print(f"[{label}] n={n}")
    print(f"  baseline insert txn     p50 {b50:7.2f} ms  p95 {ms(base, 95):7.2f} ms")
    print(
        f"  declare (service)       p50 {d50:7.2f} ms  p95 {ms(full, 95):7.2f} ms  ratio {d50 / b50:5.1f}x baseline"
    )
    a50 = statistics.median(api) * 1000
    print(
        f"  declare (HTTP API)      p50 {a50:7.2f} ms  p95 {ms(api, 95):7.2f} ms  ratio {a50 / b50:5.1f}x baseline"
    )
    print(f"  {n} concurrent declares {parallel:7.2f} s   ({n / parallel:6.1f} declarations/s)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args.n)
    server = make_url(args.postgres)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = "tocsin_bench"
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError):
        print("[postgresql] not reachable: skipped")
        return
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        await run(url, "postgresql", args.n)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
