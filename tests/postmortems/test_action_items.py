"""Action items across incidents: the list of open and overdue ones (by owner and team),
their reminders before the due date and when overdue, and restricted incidents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.conftest import START
from tests.escalation.harness import run_for

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.context import Context
from tocsin.errors import InvalidInput, NotFound
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.incidents.schemas import DeclareIn
from tocsin.jobs.registry import load_handlers
from tocsin.notify.models import Notification
from tocsin.postmortems import actions
from tocsin.postmortems.schemas import ActionItemIn, ActionItemPatch


async def _actor(ctx: Context, email: str) -> Actor:
    async with ctx.db.read() as session:
        return auth.actor_for(await auth.get_user(session, email))


async def _declare(ctx: Context, title: str, type_: str | None = None) -> str:
    async with ctx.db.write() as session:
        data = DeclareIn(title=title, severity="SEV2", type=type_)
        return (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref


async def _add(ctx: Context, ref: str, title: str, owner: str, due_hours: float) -> None:
    async with ctx.db.write() as session:
        data = ActionItemIn(title=title, owner=owner, due_at=START + timedelta(hours=due_hours))
        await actions.add(session, SYSTEM, ref, data, clock=ctx.clock)


async def _listed(
    ctx: Context, actor: Actor = SYSTEM, **filters: object
) -> list[tuple[str, int, bool]]:
    async with ctx.db.read() as session:
        rows, total = await actions.list_all(session, actor, now=ctx.clock.now(), **filters)  # type: ignore[arg-type]
    assert total == len(rows)
    return [(r.incident, r.item.number, r.overdue) for r in rows]


async def test_open_and_overdue_items_across_incidents_by_owner_and_team(seeded: Context) -> None:
    first = await _declare(seeded, "Scores lost")
    second = await _declare(seeded, "Slow reports")
    await _add(seeded, first, "Pool monitoring", "tech.lead", 24)
    await _add(seeded, first, "Release checklist: load tests", "comms@example.com", 72)
    await _add(seeded, second, "Index on reports", "engineer", 48)
    seeded.clock.set(START + timedelta(hours=50))  # type: ignore[attr-defined]
    assert await _listed(seeded) == [(first, 1, True), (second, 1, True), (first, 2, False)]
    assert await _listed(seeded, overdue_only=True) == [(first, 1, True), (second, 1, True)]
    assert await _listed(seeded, owner="tech.lead@example.com") == [(first, 1, True)]
    # The owner's team by default: comms@ is in product, the others in engineering.
    assert await _listed(seeded, team="product") == [(first, 2, False)]
    assert await _listed(seeded, team="engineering") == [(first, 1, True), (second, 1, True)]
    async with seeded.db.write() as session:
        await actions.update(
            session, SYSTEM, first, 1, ActionItemPatch(status="done"), clock=seeded.clock
        )
    assert await _listed(seeded) == [(second, 1, True), (first, 2, False)]
    assert await _listed(seeded, statuses=["done"]) == [(first, 1, False)]


async def test_bad_owner_team_and_priority_say_what_is_wrong(seeded: Context) -> None:
    ref = await _declare(seeded, "Scores lost")
    for data, field in (
        (ActionItemIn(title="x", owner="nobody"), "owner"),
        (ActionItemIn(title="x", owner="tech.lead", team="nope"), "team"),
        (ActionItemIn(title="x", owner="tech.lead", priority="urgent"), "priority"),
    ):
        with pytest.raises(InvalidInput) as caught:
            async with seeded.db.write() as session:
                await actions.add(session, SYSTEM, ref, data, clock=seeded.clock)
        assert caught.value.details["field"] == field
    with pytest.raises(InvalidInput, match="known: immediate, short-term, long-term"):
        async with seeded.db.write() as session:
            data = ActionItemIn(title="x", owner="tech.lead", priority="urgent")
            await actions.add(session, SYSTEM, ref, data, clock=seeded.clock)


async def _told(ctx: Context) -> list[tuple[timedelta, str, str]]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.kind.in_(["reminder", "escalate"]))
            .order_by(IncidentEvent.at, IncidentEvent.id)
        )
        return [(e.at - START, e.kind, e.summary) for e in rows if "action item" in e.summary]


async def test_owner_is_reminded_a_day_before_and_when_overdue(seeded: Context) -> None:
    load_handlers()
    ref = await _declare(seeded, "Scores lost")
    await _add(seeded, ref, "Pool monitoring", "tech.lead", 72)
    await run_for(seeded, timedelta(hours=100))
    told = await _told(seeded)
    # seed 004: remind_before 1d; the item is due 72 h after START.
    assert [(at, kind) for at, kind, _ in told] == [
        (timedelta(hours=48), "reminder"),
        (timedelta(hours=72), "reminder"),
    ]
    assert "user:tech.lead → tech.lead" in told[0][2] and "is due" in told[0][2]
    assert "is overdue" in told[1][2]
    async with seeded.db.read() as session:
        sent = list(await session.scalars(select(Notification)))
    reasons = [n.payload["data"].get("reason", "") for n in sent]
    assert sum("'Pool monitoring'" in r for r in reasons) == 2


async def test_a_closed_or_moved_item_is_not_reminded_on_its_old_date(seeded: Context) -> None:
    load_handlers()
    ref = await _declare(seeded, "Scores lost")
    await _add(seeded, ref, "Pool monitoring", "tech.lead", 72)
    await _add(seeded, ref, "Load tests", "tech.lead", 72)
    async with seeded.db.write() as session:
        await actions.update(
            session, SYSTEM, ref, 1, ActionItemPatch(status="wont_do"), clock=seeded.clock
        )
        later = ActionItemPatch(due_at=START + timedelta(hours=120))
        await actions.update(session, SYSTEM, ref, 2, later, clock=seeded.clock)
    await run_for(seeded, timedelta(hours=150))
    assert [(at, kind) for at, kind, _ in await _told(seeded)] == [
        (timedelta(hours=96), "reminder"),
        (timedelta(hours=120), "reminder"),
    ]


async def test_restricted_incidents_items_only_for_those_who_may_see_it(seeded: Context) -> None:
    public = await _declare(seeded, "Slow reports")
    secret = await _declare(seeded, "Credential leak", type_="security")
    await _add(seeded, public, "Index", "engineer", 24)
    await _add(seeded, secret, "Rotate keys", "engineer", 24)
    outsider = await _actor(seeded, "comms@example.com")
    assert await _listed(seeded) == [(public, 1, False), (secret, 1, False)]
    assert await _listed(seeded, outsider) == [(public, 1, False)]
    with pytest.raises(NotFound):
        async with seeded.db.read() as session:
            await actions.list_all(session, outsider, now=seeded.clock.now(), ref=secret)
    with pytest.raises(NotFound):
        async with seeded.db.write() as session:
            data = ActionItemIn(title="peek", owner="engineer")
            await actions.add(session, outsider, secret, data, clock=seeded.clock)


async def test_an_item_added_past_its_due_date_is_only_told_overdue(seeded: Context) -> None:
    load_handlers()
    ref = await _declare(seeded, "Scores lost")
    seeded.clock.set(START + timedelta(hours=10))  # type: ignore[attr-defined]
    await _add(seeded, ref, "Pool monitoring", "tech.lead", 6)  # due 4 hours ago
    await _add(seeded, ref, "Load tests", "tech.lead", 16)  # due in 6 hours: reminded now
    await run_for(seeded, timedelta(hours=24))
    told = [(at, summary.split(": ", 1)[1]) for at, _, summary in await _told(seeded)]
    assert told == [
        (
            timedelta(hours=10),
            "action item #1 'Pool monitoring' is overdue (was due 2026-01-15 15:00 UTC)",
        ),
        (timedelta(hours=10), "action item #2 'Load tests' is due 2026-01-16 01:00 UTC"),
        (
            timedelta(hours=16),
            "action item #2 'Load tests' is overdue (was due 2026-01-16 01:00 UTC)",
        ),
    ]
