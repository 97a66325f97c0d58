"""Group commit of alert events (``alerts/batching.py``), through the app, on both databases:
many concurrent requests all stored in fewer transactions, and processed; an answer only once its
transaction committed; a failed transaction answers 503 and stores nothing; a request the
database refuses fails alone; a kept key stops working at once when rotated, and a policy
change reaches it at once. Also: the benchmarks' bare endpoint exists only when asked for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from tests.alerts.conftest import ALERTS_POLICY, apply_policy_text, drain, make_integration, trigger

from tocsin.alerts import service as alerts
from tocsin.alerts.batching import Intake
from tocsin.alerts.models import Alert, AlertEvent
from tocsin.app import create_app
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.db import Database
from tocsin.jobs.models import Job
from tocsin.settings import Settings

ENQUEUE = "/v2/enqueue"


@asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # A request the database refuses is a 500 (a bug): answered, not raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def intake_of(app: FastAPI) -> Intake:
    intake: Intake = app.state.alert_intake
    return intake


async def stored_keys(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(AlertEvent.dedup_key))).all())


async def jobs_count(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


@asynccontextmanager
async def writes_held(ctx: Context) -> AsyncIterator[None]:
    """Another transaction holds what writing events needs until the block ends: SQLite's
    write lock (``BEGIN IMMEDIATE``), or on PostgreSQL a lock on the events' table."""
    async with ctx.db.write() as session:
        if ctx.db.dialect == "postgresql":
            await session.execute(text("LOCK TABLE alert_events IN EXCLUSIVE MODE"))
        else:
            await session.execute(text("SELECT 1"))
        yield


def send_all(http: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[asyncio.Task[Any]]:
    return [asyncio.create_task(http.post(ENQUEUE, json=body)) for body in bodies]


async def test_many_concurrent_requests_are_all_stored_in_fewer_transactions(
    ready: Context, key: str
) -> None:
    app = create_app(ready.settings, clock=ready.clock, database=ready.db)
    names = [f"k{n % 6}" for n in range(120)]
    async with client(app) as http:
        responses = await asyncio.gather(
            *(http.post(ENQUEUE, json=trigger(key, dedup_key=k)) for k in names)
        )
    assert [r.status_code for r in responses] == [202] * len(names)
    assert [r.json()["dedup_key"] for r in responses] == names
    assert sorted(await stored_keys(ready)) == sorted(names)
    # A job per transaction, which processes its events (or hands each key to a job).
    assert await jobs_count(ready) == intake_of(app).commits < len(names)
    await drain(ready)
    async with ready.db.read() as session:
        alerts_now = (await session.execute(select(Alert.dedup_key, Alert.count))).all()
        waiting = await session.scalar(
            select(func.count()).select_from(AlertEvent).where(AlertEvent.outcome.is_(None))
        )
    assert sorted(alerts_now) == [(f"k{n}", 20) for n in range(6)]
    assert waiting == 0


async def test_an_answer_comes_only_after_its_transaction_committed(
    ready: Context, key: str
) -> None:
    app = create_app(ready.settings, clock=ready.clock, database=ready.db)
    async with client(app) as http:
        assert (await http.post(ENQUEUE, json=trigger(key, dedup_key="first"))).status_code == 202
        async with writes_held(ready):
            tasks = send_all(http, [trigger(key, dedup_key=f"k{n}") for n in range(20)])
            await asyncio.sleep(0.5)
            assert not any(t.done() for t in tasks)
        for task in asyncio.as_completed(tasks):
            response = await task
            assert response.status_code == 202, response.text
            # Answered: so it is in the database.
            assert response.json()["dedup_key"] in await stored_keys(ready)
    assert len(await stored_keys(ready)) == 21


async def _terminate_writer_when_waiting(ctx: Context) -> None:
    """Kill the PostgreSQL connection that waits to insert events (a database going away
    under a transaction)."""
    waiting = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO alert_events%'"
    )
    for _ in range(200):
        async with ctx.db.read() as session:
            pids = (await session.scalars(waiting)).all()
        if pids:
            async with ctx.db.read() as session:
                await session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pids[0]})
            return
        await asyncio.sleep(0.05)
    pytest.fail("no transaction waited to insert events")


async def test_a_failed_transaction_answers_503_and_stores_nothing(
    ready: Context, key: str
) -> None:
    # SQLite: a short busy timeout, so that waiting for the write lock fails.
    database = Database(Settings(database_url=ready.settings.database_url, sqlite_busy_timeout=0.3))
    app = create_app(database.settings, clock=ready.clock, database=database)
    try:
        async with client(app) as http:
            assert (
                await http.post(ENQUEUE, json=trigger(key, dedup_key="first"))
            ).status_code == 202
            async with writes_held(ready):
                tasks = send_all(http, [trigger(key, dedup_key=f"k{n}") for n in range(20)])
                if ready.db.dialect == "postgresql":
                    await _terminate_writer_when_waiting(ready)
                responses = await asyncio.gather(*tasks)
            for response in responses:
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "unavailable"
            assert await stored_keys(ready) == ["first"]
            assert await jobs_count(ready) == 1
            # The database is back: the same events are taken.
            again = await asyncio.gather(*send_all(http, [trigger(key, dedup_key="k0")]))
            assert again[0].status_code == 202
    finally:
        await database.dispose()


@asynccontextmanager
async def refusing(ctx: Context, dedup_key: str) -> AsyncIterator[None]:
    """A trigger in the database that refuses events with ``dedup_key`` (a real refusal
    of the database, not of Tocsin's checks)."""
    if ctx.db.dialect == "postgresql":
        statements = [
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.dedup_key = '{dedup_key}' THEN RAISE EXCEPTION 'poison'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON alert_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ]
        undo = ["DROP TRIGGER refuse_poison ON alert_events", "DROP FUNCTION refuse_poison()"]
    else:
        statements = [
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON alert_events "
            f"WHEN NEW.dedup_key = '{dedup_key}' BEGIN SELECT RAISE(ABORT, 'poison'); END"
        ]
        undo = ["DROP TRIGGER refuse_poison"]
    async with ctx.db.write() as session:
        for statement in statements:
            await session.execute(text(statement))
    try:
        yield
    finally:
        async with ctx.db.write() as session:
            for statement in undo:
                await session.execute(text(statement))


async def test_a_request_the_database_refuses_fails_alone(ready: Context, key: str) -> None:
    app = create_app(ready.settings, clock=ready.clock, database=ready.db)
    names = [f"k{n}" for n in range(10)] + ["poison"] + [f"k{n}" for n in range(10, 20)]
    async with client(app) as http, refusing(ready, "poison"):
        assert (await http.post(ENQUEUE, json=trigger(key, dedup_key="first"))).status_code == 202
        async with writes_held(ready):  # so that all of them wait for one transaction
            tasks = send_all(http, [trigger(key, dedup_key=name) for name in names])
            await asyncio.sleep(0.3)
        responses = dict(zip(names, await asyncio.gather(*tasks), strict=True))
    assert responses.pop("poison").status_code == 500
    assert {r.status_code for r in responses.values()} == {202}
    assert sorted(await stored_keys(ready)) == sorted(["first", *responses])


async def test_a_kept_key_stops_working_at_once_when_rotated(ready: Context, key: str) -> None:
    # Two server processes stood in for by two apps, each keeping the key.
    first = create_app(ready.settings, clock=ready.clock, database=ready.db)
    second = create_app(ready.settings, clock=ready.clock, database=ready.db)
    async with client(first) as one, client(second) as two:
        for http in (one, two):
            assert (await http.post(ENQUEUE, json=trigger(key))).status_code == 202
        async with ready.db.write() as session:
            rotated = await alerts.rotate_key(
                session, SYSTEM, "datadog", clock=ready.clock, public_url="http://t"
            )
        assert rotated.key is not None
        for http in (one, two):
            refused = await http.post(ENQUEUE, json=trigger(key))
            assert refused.status_code == 400
            assert refused.json()["errors"] == ["Invalid routing key"]
            assert (await http.post(ENQUEUE, json=trigger(rotated.key))).status_code == 202
    assert len(await stored_keys(ready)) == 4


async def test_a_policy_change_reaches_a_kept_key_at_once(
    ready: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_KEY", "h" * 32)
    monkeypatch.setenv("TEST_HOOK_SECRET", "s" * 32)
    hook = "  - {key: hook, name: Hook, type: generic, key_env: TEST_HOOK_KEY%s}\n"
    await apply_policy_text(ready, ALERTS_POLICY + hook % "")
    app = create_app(ready.settings, clock=ready.clock, database=ready.db)
    url = f"/webhooks/generic/{'h' * 32}"
    body = {"summary": "Backup failed", "dedup_key": "backup"}
    async with client(app) as http:
        assert (await http.post(url, json=body)).status_code == 202
        # The policy now requires the sender's signature: unsigned events are refused.
        await apply_policy_text(
            ready, ALERTS_POLICY + hook % ", signing_secret_env: TEST_HOOK_SECRET"
        )
        refused = await http.post(url, json=body)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "bad_signature"
    assert await stored_keys(ready) == ["backup"]


async def test_the_bench_endpoint_is_absent_unless_asked_for(ctx: Context) -> None:
    body = {"routing_key": "x", "dedup_key": "d"}
    async with client(create_app(ctx.settings, clock=ctx.clock, database=ctx.db)) as http:
        assert (await http.post("/bench/bare", json=body)).status_code == 404
    asked = Settings(database_url=ctx.settings.database_url, bench_bare_endpoint=True)
    async with client(create_app(asked, clock=ctx.clock, database=ctx.db)) as http:
        answer = await http.post("/bench/bare", json=body)
    assert answer.status_code == 202 and answer.json()["dedup_key"] == "d"


async def test_integrations_keep_their_own_events(ready: Context) -> None:
    """Events of several integrations in one transaction each go to their own."""
    keys = [await make_integration(ready, f"Source {n}") for n in range(3)]
    app = create_app(ready.settings, clock=ready.clock, database=ready.db)
    async with client(app) as http:
        responses = await asyncio.gather(
            *(http.post(ENQUEUE, json=trigger(k, dedup_key=f"{n}")) for n, k in enumerate(keys * 5))
        )
    assert {r.status_code for r in responses} == {202}
    async with ready.db.read() as session:
        rows = (
            await session.execute(select(AlertEvent.integration_id, AlertEvent.dedup_key))
        ).all()
    by_integration: dict[int, set[str]] = {}
    for integration_id, dedup_key in rows:
        by_integration.setdefault(integration_id, set()).add(dedup_key)
    expected = {frozenset(str(n) for n in range(i, 15, 3)) for i in range(3)}
    assert {frozenset(keys) for keys in by_integration.values()} == expected
