"""PostgreSQL's pool: a connection that died while idle is replaced, not used.

Tocsin pings a pooled connection only when it has been idle a while (``db.py``). Here
the database ends every connection of the pool (as a restart would), and the next
transactions still work, on new connections.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from tests.conftest import _asyncpg_dsn

from tocsin import db as db_module
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
