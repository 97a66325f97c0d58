"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

SQLite: WAL, ``synchronous=NORMAL``, a busy timeout, and ``BEGIN IMMEDIATE`` for write
transactions so that two writers queue instead of failing half-way. Reads use a plain
deferred ``BEGIN`` on their own engine and never block on a writer (WAL).

The boundary (request, CLI command, job) opens a session with :meth:`Database.write` or
:meth:`Database.read`, and the context manager commits once at the end or rolls back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from tocsin.clock import as_utc
from tocsin.settings import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The largest value an INTEGER column holds on both databases (PostgreSQL's int4): the
#: bound for ids and counts taken from outside, so none overflows in a query.
MAX_INT = 2**31 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases (SQLite would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use the clock")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_engine(url: str, settings: Settings, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        connect_args={"timeout": settings.sqlite_busy_timeout},
        poolclass=NullPool if ":memory:" in url else None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout * 1000)}")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


#: A pooled PostgreSQL connection idle longer than this is pinged before use.
PING_IDLE_AFTER = 1.0


def _postgres_engine(url: str, settings: Settings) -> AsyncEngine:
    """A pooled engine that pings a connection only when it has been idle a while.

    SQLAlchemy's ``pool_pre_ping`` costs three round trips on every checkout (a
    transaction around the ping); on a busy server that is more than many transactions
    cost. A connection back in the pool within the last second was working a moment ago;
    one idle longer (perhaps across a database restart) is pinged, and replaced if the ping
    fails (the pool retries the checkout on ``DisconnectionError``).
    """
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_AFTER:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure: the connection is not worth keeping
            raise DisconnectionError(str(exc)) from exc

    return engine


class Database:
    """The application's database: one write engine and one read engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url
        if is_sqlite(self.url):
            path = settings.sqlite_path()
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(self.url, settings, immediate=True)
            self.read_engine = _sqlite_engine(self.url, settings, immediate=False)
        else:
            self.write_engine = _postgres_engine(self.url, settings)
            self.read_engine = self.write_engine
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return "sqlite" if is_sqlite(self.url) else "postgresql"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A read-write transaction: commits once on success, rolls back on error."""
        async with self._write() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction, ended by closing (loaded objects stay readable)."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def single(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement on its own: on PostgreSQL in autocommit, so it
        costs one round trip instead of three (no BEGIN, no COMMIT); on SQLite a reader's."""
        async with self.read_engine.connect() as connection:
            if self.dialect == "postgresql":
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
