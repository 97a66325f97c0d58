"""Migrations are the only way tables are made: they must match the models exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.db import Base, Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn
from tocsin.migrate import model_drift


async def test_migrations_agree_with_models(db: Database) -> None:
    drift = await model_drift(db.write_engine)
    assert drift == [], f"models and migrations disagree: {drift}"


async def test_migrated_database_has_every_table(db: Database) -> None:
    async with db.write_engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


async def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if db.dialect != "sqlite":
        return
    async with db.write_engine.connect() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert (mode, sync) == ("wal", 1)  # 1 = NORMAL
    assert busy and busy > 0


@pytest.mark.parametrize("table", ["audit_log", "incident_events"])
async def test_history_tables_are_append_only(seeded: Context, table: str) -> None:
    async with seeded.db.write() as session:
        await incidents.declare(
            session, SYSTEM, DeclareIn(title="x", severity="SEV3"), clock=seeded.clock
        )
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with seeded.db.write() as session:
                await session.execute(text(statement))
