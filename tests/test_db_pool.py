"""PostgreSQL's pool: a connection that died while idle is replaced, not used.

Tocsin pings a pooled connection only when it has been idle a while (``db.py``). Here
the database ends every connection of the pool (as a restart would), and the next
transactions still work, on new connections.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from tests.conftest import _asyncpg_dsn

from tocsin import db as db_module
from tocsin.app import create_app
from tocsin.db import Database
from tocsin.settings import Settings


async def test_connections_killed_while_idle_are_replaced(postgres_url: str | None) -> None:
    if postgres_url is None:
        pytest.skip("PostgreSQL not available (see the warning above)")
    db = Database(Settings(database_url=postgres_url))
    try:
        await _kill_and_reconnect(db)
    finally:
        await db.dispose()


async def _kill_and_reconnect(db: Database) -> None:
    async with db.read() as session:
        before = await session.scalar(text("SELECT pg_backend_pid()"))
    admin = await asyncpg.connect(_asyncpg_dsn(db.url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", before)
    finally:
        await admin.close()
    await asyncio.sleep(db_module.PING_IDLE_AFTER + 0.2)
    for _ in range(3):
        async with db.read() as session:
            assert await session.scalar(text("SELECT pg_backend_pid()")) != before


async def test_a_request_finding_no_free_connection_is_told_busy(
    postgres_url: str | None,
) -> None:
    """Overload is a 503 with Retry-After (nothing stored, try again), not a 500."""
    if postgres_url is None:
        pytest.skip("PostgreSQL not available (see the warning above)")
    settings = Settings(
        database_url=postgres_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2
    )
    db = Database(settings)
    app = create_app(settings, database=db)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            async with db.write() as session:  # the only connection, held
                await session.execute(text("SELECT 1"))
                answer = await http.get(
                    "/api/v1/incidents", headers={"Authorization": "Bearer tsn_nothing"}
                )
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["error"]["code"] == "busy"
            # with the connection back, the same request is judged on its merits
            again = await http.get(
                "/api/v1/incidents", headers={"Authorization": "Bearer tsn_nothing"}
            )
            assert again.status_code == 401
    finally:
        await db.dispose()
