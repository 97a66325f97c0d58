"""The escalation engine end to end: real services, real job handlers, virtual time."""

from __future__ import annotations

from sqlalchemy import select
from tests.escalation.harness import POLICY, declare, effects, minutes, run_for

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.db import Database
from tocsin.escalation.models import Escalation, EscalationStep
from tocsin.incidents import service as incidents
from tocsin.incidents.models import ChecklistItem
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies


async def _as(ctx: Context, handle: str):  # type: ignore[no-untyped-def]
    async with ctx.db.read() as session:
        user = await auth.get_user(session, f"{handle}@example.com")
        return auth.actor_for(user)


async def test_unacknowledged_p0_climbs_the_whole_ladder(engine: Context) -> None:
    await declare(engine)
    await run_for(engine, minutes(90))
    pages = await effects(engine, "page", "notify", "task")
    assert pages == [
        (minutes(0), "page", "schedule:primary", ["olly"]),
        (minutes(5), "page", "role:engineering-manager", ["dana"]),
        (minutes(15), "page", "user:vp", ["vp"]),
        (minutes(30), "notify", "team:executives", ["ceo"]),
        (minutes(60), "task", "role:communications-coordinator", ["cora"]),
    ]
    async with engine.db.read() as session:
        items = list(await session.scalars(select(ChecklistItem.text)))
    assert "Customer communication" in items


async def test_acknowledgement_at_3_minutes_stops_the_page_steps(engine: Context) -> None:
    ref = await declare(engine)
    await run_for(engine, minutes(3))
    async with engine.db.write() as session:
        await incidents.acknowledge(session, await _as(engine, "olly"), ref, clock=engine.clock)
    await run_for(engine, minutes(90))
    found = await effects(engine, "page", "notify", "task")
    assert [(o, k, t) for o, k, t, _ in found] == [
        (minutes(0), "page", "schedule:primary"),
        # steps without a condition ("always") still run until resolution
        (minutes(30), "notify", "team:executives"),
        (minutes(60), "task", "role:communications-coordinator"),
    ]
    async with engine.db.read() as session:
        steps = list(await session.scalars(select(EscalationStep).order_by(EscalationStep.id)))
    cancelled = [s for s in steps if s.status == "cancelled"]
    assert [s.position for s in cancelled] == [1, 2]
    assert {s.reason for s in cancelled} == {"incident acknowledged"}


async def test_resolution_stops_everything(engine: Context) -> None:
    ref = await declare(engine)
    await run_for(engine, minutes(6))
    async with engine.db.write() as session:
        await incidents.set_status(session, SYSTEM, ref, "resolved", clock=engine.clock)
    await run_for(engine, minutes(240))
    found = await effects(engine)
    assert all(offset <= minutes(6) for offset, *_ in found)
    async with engine.db.read() as session:
        escalation = await session.get(Escalation, 1)
        pending = await session.scalar(
            select(EscalationStep).where(EscalationStep.status == "pending")
        )
    assert escalation is not None and escalation.status == "stopped"
    assert escalation.stop_reason == "incident resolved"
    assert pending is None


async def test_severity_change_switches_ladder_keeping_elapsed_time(engine: Context) -> None:
    ref = await declare(engine, "P1")
    await run_for(engine, minutes(20))
    async with engine.db.write() as session:
        await incidents.change_severity(session, SYSTEM, ref, "P0", clock=engine.clock)
    await run_for(engine, minutes(15))
    found = await effects(engine, "page", "notify")
    assert [(o, t) for o, _, t, _ in found] == [
        (minutes(0), "schedule:primary"),  # P1 step 1
        # P0 steps already due at +20m fire at once; its +0m page was already done
        (minutes(20), "role:engineering-manager"),
        (minutes(20), "user:vp"),
        (minutes(30), "team:executives"),  # P0's +30m, counted from the declaration
    ]
    async with engine.db.read() as session:
        steps = list(await session.scalars(select(EscalationStep)))
    p1_left = [s for s in steps if s.ladder_key == "p1" and s.status == "cancelled"]
    assert p1_left and {s.reason for s in p1_left} == {"severity changed to P0"}
    assert any(s.ladder_key == "p0" and s.status == "skipped" for s in steps)


async def test_ladder_repeats_while_its_condition_holds(engine: Context) -> None:
    await declare(engine, "P1")
    await run_for(engine, minutes(120))
    found = await effects(engine, "page")
    assert [(o, t) for o, _, t, _ in found] == [
        (minutes(0), "schedule:primary"),
        (minutes(30), "role:engineering-manager"),
        (minutes(60), "schedule:primary"),  # repeat 1 starts 30m after the last step
        (minutes(90), "role:engineering-manager"),
    ]


async def test_ladder_is_snapshotted_when_escalation_starts(engine: Context) -> None:
    await declare(engine)
    changed = POLICY.read_text().replace(
        "{at: 5m, page: [role:engineering-manager]}", "{at: 5m, page: [user:ceo]}"
    )
    async with engine.db.write() as session:
        await policies.apply(session, SYSTEM, changed, clock=engine.clock)
    await run_for(engine, minutes(10))
    found = await effects(engine, "page")
    assert [t for _, _, t, _ in found] == ["schedule:primary", "role:engineering-manager"]


async def test_sla_warning_and_breach(engine: Context) -> None:
    await declare(engine)
    await run_for(engine, minutes(6))
    found = await effects(engine, "sla_warning", "sla_breach")
    # acknowledge within 5m; warned when 20% (1m) is left
    assert [(o, k) for o, k, _, _ in found] == [
        (minutes(4), "sla_warning"),
        (minutes(5), "sla_breach"),
    ]


async def test_no_sla_warning_once_acknowledged(engine: Context) -> None:
    ref = await declare(engine)
    async with engine.db.write() as session:
        await incidents.acknowledge(session, await _as(engine, "olly"), ref, clock=engine.clock)
    await run_for(engine, minutes(6))
    assert await effects(engine, "sla_warning", "sla_breach") == []


async def test_commander_deadline_reminds_then_escalates(engine: Context) -> None:
    ref = await declare(engine)
    async with engine.db.write() as session:
        await incidents.acknowledge(session, await _as(engine, "olly"), ref, clock=engine.clock)
    await run_for(engine, minutes(25))
    found = await effects(engine, "reminder", "escalate")
    assert found == [
        (minutes(10), "reminder", "user:olly", ["olly"]),  # who acknowledged
        (minutes(20), "escalate", "user:vp", ["vp"]),
    ]


async def test_assigning_the_commander_in_time_ends_the_deadline(engine: Context) -> None:
    ref = await declare(engine)
    await run_for(engine, minutes(8))
    async with engine.db.write() as session:
        await incidents.assign_role(
            session, SYSTEM, ref, "incident-commander", "kim@example.com", clock=engine.clock
        )
    await run_for(engine, minutes(20))  # past the 10m deadline and the 20m escalation
    assert await effects(engine, "reminder", "escalate") == []


async def test_update_cadence_reminds_when_no_update_was_posted(engine: Context) -> None:
    ref = await declare(engine)
    async with engine.db.write() as session:
        await incidents.assign_role(
            session, SYSTEM, ref, "incident-commander", "kim@example.com", clock=engine.clock
        )
    await run_for(engine, minutes(40))
    async with engine.db.write() as session:
        await incidents.post_update(session, SYSTEM, ref, "Still investigating", clock=engine.clock)
    await run_for(engine, minutes(45))
    found = await effects(engine, "reminder")
    # every 30m: due at 30m; the update at 40m moves the next one to 70m
    assert [(o, t) for o, _, t, _ in found] == [
        (minutes(30), "role:incident-commander"),
        (minutes(70), "role:incident-commander"),
    ]


async def test_escalation_survives_a_restart(engine: Context) -> None:
    await declare(engine)
    await engine.db.dispose()
    fresh = Database(engine.settings)
    try:
        restarted = Context(settings=engine.settings, db=fresh, clock=engine.clock)
        await run_for(restarted, minutes(16))
        found = await effects(restarted, "page")
    finally:
        await fresh.dispose()
    assert [t for _, _, t, _ in found] == [
        "schedule:primary",
        "role:engineering-manager",
        "user:vp",
    ]


async def test_a_step_job_run_twice_pages_once(engine: Context) -> None:
    await declare(engine)
    await run_for(engine, minutes(1))
    async with engine.db.write() as session:
        first = await session.scalar(select(EscalationStep).where(EscalationStep.position == 0))
        assert first is not None and first.status == "fired"
        await jobs.enqueue(session, "escalation.step", {"step": first.id}, clock=engine.clock)
    await run_for(engine, minutes(1))
    assert len(await effects(engine, "page")) == 1
