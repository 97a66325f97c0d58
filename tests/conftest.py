"""Test harness: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from TOCSIN_TEST_POSTGRES_URL, else the server at 127.0.0.1:5432 if it
answers. Each run creates its own database (dropped at the end) built by the migrations.
Without a server the PostgreSQL half is skipped with a warning, except under CI=true,
where it fails the run.
"""

from __future__ import annotations

import asyncio
import filecmp
import os
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import Table, text
from sqlalchemy.engine import make_url
from tests.apps import app_for
from tests.browser import chromium  # noqa: F401  (a fixture for every browser test)

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.db import Base, Database
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "examples" / "policies"
SEED_004 = POLICIES / "seed-004-incident-response.yaml"
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def _pg_admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    db = Database(Settings(database_url=url))
    try:
        await upgrade(db.write_engine)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tocsin.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    server = os.environ.get("TOCSIN_TEST_POSTGRES_URL", DEFAULT_PG)
    if not asyncio.run(_pg_answers(server)):
        where = make_url(server).render_as_string()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                f"CI=true needs PostgreSQL, which is not reachable at {where}", pytrace=False
            )
        warnings.warn(
            f"PostgreSQL not reachable at {where}: PostgreSQL tests skipped", stacklevel=1
        )
        yield None
        return
    name = f"tocsin_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "tocsin.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str | None = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip("PostgreSQL not available (see the warning above)")
    return url


#: Empties every table and restarts every sequence, in one round trip. Only the tables
#: that have rows are truncated: TRUNCATE of every table costs about 100 ms (new files for
#: each relation), of the few a test fills a fraction of that. (Not DELETE: append-only
#: tables refuse it.)
EMPTY_ALL = f"""
DO $$ DECLARE name text; filled text[] := '{{}}'; found boolean; s record; BEGIN
  FOREACH name IN ARRAY ARRAY[{", ".join(f"'{t.name}'" for t in Base.metadata.sorted_tables)}]
  LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', name) INTO found;
    IF found THEN filled := filled || format('%I', name); END IF;
  END LOOP;
  IF cardinality(filled) > 0 THEN
    EXECUTE 'TRUNCATE ' || array_to_string(filled, ', ') || ' CASCADE';
  END IF;
  FOR s IN SELECT schemaname, sequencename FROM pg_sequences
           WHERE schemaname = current_schema() LOOP
    PERFORM setval(format('%I.%I', s.schemaname, s.sequencename), 1, false);
  END LOOP;
END $$;
"""


async def empty(db: Database) -> None:
    """Empty the run's PostgreSQL database (every test starts from nothing)."""
    async with db.write_engine.begin() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(EMPTY_ALL)  # type: ignore[union-attr]


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=db_url))
    if database.dialect == "postgresql":
        await empty(database)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def ctx(db: Database, clock: VirtualClock) -> Context:
    return Context(settings=db.settings, db=db, clock=clock)


async def apply_policy(ctx: Context, path: Path = SEED_004) -> None:
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, path.read_text(encoding="utf-8"), clock=ctx.clock, source=path.name
        )


async def add_user(
    ctx: Context, email: str, *, roles: tuple[str, ...] = (), admin: bool = False
) -> Actor:
    async with ctx.db.write() as session:
        user = await auth.create_user(
            session, SYSTEM, email, clock=ctx.clock, roles=roles, is_admin=admin
        )
        return auth.actor_for(user)


async def token_for(ctx: Context, email: str) -> str:
    async with ctx.db.write() as session:
        _, secret = await auth.create_token(session, SYSTEM, email, clock=ctx.clock)
        return secret


@pytest.fixture(scope="session")
def seeded_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated SQLite file with seed 004 applied at ``START``, copied by ``seeded``."""
    path = tmp_path_factory.mktemp("seeded") / "tocsin.db"
    shutil.copy(sqlite_template, path)
    asyncio.run(_seed_once(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def seeded_rows(postgres_url: str | None) -> Snapshot | None:
    """Every row seed 004's policy writes on PostgreSQL, applied once at ``START``."""
    return None if postgres_url is None else asyncio.run(_seed_once(postgres_url, keep=True))


async def _seed_once(url: str, *, keep: bool = False) -> Snapshot | None:
    db = Database(Settings(database_url=url))
    try:
        if keep:  # the run's PostgreSQL database: earlier tests may have left rows
            await empty(db)
        await apply_policy(Context(settings=db.settings, db=db, clock=VirtualClock(START)))
        if not keep:
            return None
        snapshot = await Snapshot.take(db)
        await empty(db)
        return snapshot
    finally:
        await db.dispose()


@pytest.fixture
async def seeded(
    ctx: Context, sqlite_template: Path, seeded_sqlite: Path, seeded_rows: Snapshot | None
) -> Context:
    """A database with seed 004's policy applied.

    Applying it costs a few hundred statements, so a database nobody has written to yet
    gets a copy of one applied at ``START`` instead (the same rows, at a fraction of the
    cost); any other database gets the policy applied."""
    if ctx.clock.now() != START or not await _restored(
        ctx, sqlite_template, seeded_sqlite, seeded_rows
    ):
        await apply_policy(ctx)
    return ctx


async def _restored(
    ctx: Context, template: Path, seeded_sqlite: Path, snapshot: Snapshot | None
) -> bool:
    if ctx.db.dialect == "sqlite":
        path = ctx.settings.sqlite_path()
        if path is None or Path(f"{path}-wal").exists():
            return False
        await ctx.db.dispose()
        if not filecmp.cmp(path, template, shallow=False):
            return False
        shutil.copy(seeded_sqlite, path)
        return True
    return snapshot is not None and await snapshot.restore(ctx.db)


def _parents_first(table: Table, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows in an order a table that refers to itself (component groups) accepts."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not own:
        return rows
    ordered: list[dict[str, object]] = []
    placed: set[object] = set()
    waiting = rows
    while waiting:
        ready = [r for r in waiting if all(r[c] is None or r[c] in placed for c in own)]
        assert ready, f"{table.name}: rows refer to each other in a circle"
        ordered += ready
        placed |= {r["id"] for r in ready}
        waiting = [r for r in waiting if r not in ready]
    return ordered


class Snapshot:
    """Rows of some tables, put back with one INSERT per table (PostgreSQL)."""

    def __init__(self, rows: dict[str, list[dict[str, object]]]) -> None:
        self.rows = rows

    @classmethod
    async def take(cls, db: Database) -> Snapshot:
        rows: dict[str, list[dict[str, object]]] = {}
        async with db.write_engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                found = [dict(r._mapping) for r in await conn.execute(table.select())]
                if found:
                    rows[table.name] = _parents_first(table, found)
        return cls(rows)

    async def restore(self, db: Database) -> bool:
        """Insert the rows, unless one of their tables already has some (``False``)."""
        tables = [Base.metadata.tables[name] for name in self.rows]
        used = " + ".join(f'(SELECT count(*) FROM "{t.name}")' for t in tables)
        async with db.write_engine.begin() as conn:
            if await conn.scalar(text(f"SELECT {used}")):
                return False
            for table in tables:
                await conn.execute(table.insert(), self.rows[table.name])
                if "id" in table.c and table.c.id.autoincrement is not False:
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                            f' (SELECT max(id) FROM "{table.name}"))'
                        )
                    )
        return True


@pytest.fixture
async def client(seeded: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = app_for(seeded.settings, clock=seeded.clock, database=seeded.db)
    await add_user(seeded, "admin@example.com", admin=True)
    token = await token_for(seeded, "admin@example.com")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as http:
        yield http


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the files tests saved for people to look at (a test appends ``("artifact",
    path)`` to its ``user_properties``), such as the status page's screenshots."""
    saved = sorted(
        {
            str(value)
            for reports in terminalreporter.stats.values()
            for report in reports
            for name, value in getattr(report, "user_properties", ())
            if name == "artifact"
        }
    )
    if saved:
        terminalreporter.section("test artifacts")
        for path in saved:
            terminalreporter.write_line(path)
