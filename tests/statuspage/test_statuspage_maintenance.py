"""Scheduled maintenance moves on by itself: the real job engine over a virtual clock
puts it in progress at its start (its components under maintenance, the page's indicator
``maintenance``) and completes it at its end (components operational again)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.errors import Conflict
from tocsin.jobs.registry import load_handlers
from tocsin.simulate.runner import run_until
from tocsin.statuspage import public, service
from tocsin.statuspage.schemas import MaintenanceIn, MaintenanceUpdateIn


@pytest.fixture(autouse=True)
def _handlers() -> None:
    load_handlers()


async def view(ctx: Context) -> public.PublicView:
    async with ctx.db.read() as session:
        return await public.public_view(session, clock=ctx.clock)


def component(view: public.PublicView, key: str) -> str:
    return str(next(c for c in view.components if c["id"] == key)["status"])


async def schedule(ctx: Context, *, auto: bool = True) -> str:
    now = ctx.clock.now()
    async with ctx.db.write() as session:
        row = await service.schedule_maintenance(
            session,
            SYSTEM,
            MaintenanceIn(
                name="Database upgrade",
                body="We upgrade the database; scores may save slowly.",
                scheduled_for=now + timedelta(hours=2),
                scheduled_until=now + timedelta(hours=3),
                components=["database", "score-recording"],
                auto_transition=auto,
            ),
            clock=ctx.clock,
        )
        return row.public_id


async def test_maintenance_starts_and_completes_by_itself(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    start = clock.now()
    public_id = await schedule(seeded)
    before = await view(seeded)
    upcoming = public.maintenances_json(before, "upcoming")["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == [public_id]
    assert before.status["indicator"] == "none"

    await run_until(seeded.db, clock, start + timedelta(hours=1, minutes=59))
    assert component(await view(seeded), "database") == "operational"

    await run_until(seeded.db, clock, start + timedelta(hours=2, minutes=1))
    during = await view(seeded)
    active = public.maintenances_json(during, "active")["scheduled_maintenances"]
    assert [(m["id"], m["status"]) for m in active] == [(public_id, "in_progress")]
    assert component(during, "database") == component(during, "score-recording")
    assert component(during, "database") == "under_maintenance"
    assert during.status == {"indicator": "maintenance", "description": "Service Under Maintenance"}
    assert (
        "Scheduled maintenance is currently in progress"
        in (active[0]["incident_updates"][0]["body"])
    )

    await run_until(seeded.db, clock, start + timedelta(hours=3, minutes=1))
    after = await view(seeded)
    done = after.scheduled_maintenances[0]
    assert done["status"] == "completed"
    assert done["resolved_at"] is not None
    assert [u["status"] for u in done["incident_updates"]] == [
        "completed",
        "in_progress",
        "scheduled",
    ]
    assert component(after, "database") == "operational"
    assert after.status["indicator"] == "none"
    # Under maintenance counts as up: the day's uptime is whole.
    assert after.uptime["database"][-1].uptime == 1.0
    assert after.uptime["database"][-1].worst == "under_maintenance"


async def test_completed_by_hand_the_timer_does_nothing_more(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    start = clock.now()
    public_id = await schedule(seeded)
    clock.advance(minutes=10)
    for status in ("in_progress", "verifying", "completed"):
        async with seeded.db.write() as session:
            await service.move_maintenance(
                session, SYSTEM, public_id, MaintenanceUpdateIn(status=status), clock=clock
            )
    version = (await view(seeded)).version
    await run_until(seeded.db, clock, start + timedelta(hours=4))
    after = await view(seeded)
    assert after.version == version  # no timer moved it again
    assert [u["status"] for u in after.scheduled_maintenances[0]["incident_updates"]] == [
        "completed",
        "verifying",
        "in_progress",
        "scheduled",
    ]
    with pytest.raises(Conflict):
        async with seeded.db.write() as session:
            await service.move_maintenance(
                session,
                SYSTEM,
                public_id,
                MaintenanceUpdateIn(status="in_progress"),
                clock=clock,
            )


async def test_manual_maintenance_waits_for_a_person(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    await schedule(seeded, auto=False)
    await run_until(seeded.db, clock, clock.now() + timedelta(hours=5))
    assert (await view(seeded)).scheduled_maintenances[0]["status"] == "scheduled"
