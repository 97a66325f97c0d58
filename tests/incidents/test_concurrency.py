"""Gap-free incident numbers and one commander at a time, under real concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.conftest import add_user

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.db import Database
from tocsin.errors import Conflict
from tocsin.incidents import numbering
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn


async def test_fifty_concurrent_declarations_get_fifty_consecutive_ids(seeded: Context) -> None:
    # Five engines stand in for five server processes, ten declarations each, all at once.
    engines = [Database(seeded.settings) for _ in range(5)]

    async def declare(db: Database, n: int) -> str:
        async with db.write() as session:
            data = DeclareIn(title=f"concurrent {n}", severity="SEV3")
            return (await incidents.declare(session, SYSTEM, data, clock=seeded.clock)).ref

    try:
        refs = await asyncio.gather(*(declare(engines[n % 5], n) for n in range(50)))
    finally:
        for db in engines:
            await db.dispose()
    assert len(set(refs)) == 50
    assert sorted(refs) == [f"INC-2026-01-15-{n:03d}" for n in range(1, 51)]


async def test_an_api_process_runs_a_few_declarations_at_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past a few at once, declarations interleaved on one event loop hold the day's
    counter row longer and a loaded process takes fewer a second: the rest wait their
    turn, and all are answered with consecutive numbers."""
    running, most = 0, 0
    declare_described = incidents.declare_described

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.01)  # in flight long enough for the others to arrive
            return await declare_described(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(incidents, "declare_described", counted)
    body = {"title": "storm", "severity": "SEV3"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/incidents", json=body) for _ in range(3 * numbering.AT_ONCE))
    )
    assert [a.status_code for a in answers] == [201] * 3 * numbering.AT_ONCE
    assert most == numbering.AT_ONCE
    refs = sorted(a.json()["id"] for a in answers)
    assert refs == [f"INC-2026-01-15-{n:03d}" for n in range(1, 3 * numbering.AT_ONCE + 1)]


async def test_numbers_restart_each_day_in_the_policy_time_zone(seeded: Context) -> None:
    refs = []
    for _ in range(2):
        async with seeded.db.write() as session:
            data = DeclareIn(title="x", severity="SEV4")
            refs.append((await incidents.declare(session, SYSTEM, data, clock=seeded.clock)).ref)
        seeded.clock.advance(hours=24)
    assert refs == ["INC-2026-01-15-001", "INC-2026-01-16-001"]


async def test_a_failed_declaration_leaves_no_gap(seeded: Context) -> None:
    async with seeded.db.write() as session:
        await incidents.declare(
            session, SYSTEM, DeclareIn(title="a", severity="SEV2"), clock=seeded.clock
        )
    with pytest.raises(RuntimeError):
        async with seeded.db.write() as session:
            await incidents.declare(
                session, SYSTEM, DeclareIn(title="b", severity="SEV2"), clock=seeded.clock
            )
            raise RuntimeError("the request failed after declaring")
    async with seeded.db.write() as session:
        third = await incidents.declare(
            session, SYSTEM, DeclareIn(title="c", severity="SEV2"), clock=seeded.clock
        )
    assert third.ref == "INC-2026-01-15-002"


async def test_concurrent_commander_assignments_leave_one_commander(seeded: Context) -> None:
    for n in range(4):
        await add_user(seeded, f"lead{n}@example.com", roles=("incident-commander",))
    async with seeded.db.write() as session:
        ref = (
            await incidents.declare(
                session, SYSTEM, DeclareIn(title="x", severity="SEV1"), clock=seeded.clock
            )
        ).ref
    engines = [Database(seeded.settings) for _ in range(4)]

    async def assign(db: Database, n: int) -> str:
        try:
            async with db.write() as session:
                await incidents.assign_role(
                    session,
                    SYSTEM,
                    ref,
                    "incident-commander",
                    f"lead{n}@example.com",
                    clock=seeded.clock,
                )
        except Conflict:
            return "conflict"
        return "assigned"

    try:
        results = await asyncio.gather(*(assign(engines[n], n) for n in range(4)))
    finally:
        for db in engines:
            await db.dispose()
    assert "assigned" in results
    async with seeded.db.read() as session:
        incident = await incidents.get(session, SYSTEM, ref)
        out = await incidents.describe(session, incident, clock=seeded.clock, detail=True)
    commanders = [r for r in out.roles if r.role == "incident-commander"]
    assert len(commanders) == 1
    # Each successful assignment after the first handed over: history is complete.
    assert len([r for r in out.role_history if r.role == "incident-commander"]) == results.count(
        "assigned"
    )


async def test_database_refuses_a_second_active_commander(seeded: Context) -> None:
    """The constraint itself, not Python, guarantees one commander."""
    from sqlalchemy.exc import IntegrityError

    from tocsin.incidents.models import IncidentRole

    lead = await add_user(seeded, "lead@example.com")
    other = await add_user(seeded, "other@example.com")
    async with seeded.db.write() as session:
        incident = await incidents.declare(
            session, SYSTEM, DeclareIn(title="x", severity="SEV1"), clock=seeded.clock
        )
        incident_id = incident.id
    with pytest.raises(IntegrityError):
        async with seeded.db.write() as session:
            for user in (lead, other):
                session.add(
                    IncidentRole(
                        incident_id=incident_id,
                        role="incident-commander",
                        user_id=user.user_id,
                        exclusive=True,
                        assumed_at=seeded.clock.now(),
                        assigned_by="test",
                    )
                )
            await session.flush()
