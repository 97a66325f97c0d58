"""Post-incident deadlines on the policy's calendar: seed 000's working days (werkdagen) in
Europe/Amsterdam, its 24-hour checklist and 2-week follow-up; what meets each deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from tests.conftest import POLICIES, apply_policy
from tests.escalation.harness import run_for

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.incidents.schemas import DeclareIn
from tocsin.jobs.registry import load_handlers
from tocsin.policy.loader import load_policy_text
from tocsin.postmortems import deadlines

SEED_000 = POLICIES / "seed-000-arabisch-online-leren.yaml"
AMS = ZoneInfo("Europe/Amsterdam")


def _local(moment: datetime) -> str:
    return moment.astimezone(AMS).strftime("%a %Y-%m-%d %H:%M")


def _plan(holidays: list[date]) -> dict[str, tuple[str, str | None]]:
    policy = load_policy_text(SEED_000.read_text(encoding="utf-8"))
    organization = policy.organization.model_copy(update={"holidays": holidays})
    severity = policy.severity("P0")
    assert severity is not None
    resolved = datetime(2026, 1, 16, 16, 0, tzinfo=AMS)  # a Friday, 16:00 in Amsterdam
    return {
        p.key: (_local(p.due_at), None if p.remind_at is None else _local(p.remind_at))
        for p in deadlines.plan(severity, resolved.astimezone(UTC), organization.calendar())
    }


def test_seed_000_deadlines_count_working_days_in_amsterdam() -> None:
    # Office hours 09:00-18:00: Friday's last 2 hours, then Monday to Thursday (36 hours),
    # then 7 hours into next Friday make 5 working days of 9 hours.
    assert _plan([]) == {
        "postmortem": ("Fri 2026-01-23 16:00", "Wed 2026-01-21 16:00"),
        "direct-na-resolution": ("Sat 2026-01-17 16:00", None),
        "follow-up": ("Fri 2026-01-30 16:00", None),
    }
    # A holiday on the Wednesday moves the working-day deadlines one working day on.
    planned = _plan([date(2026, 1, 21)])
    assert planned["postmortem"] == ("Mon 2026-01-26 16:00", "Thu 2026-01-22 16:00")
    assert planned["direct-na-resolution"] == ("Sat 2026-01-17 16:00", None)


def test_what_meets_each_deadline() -> None:
    nothing = deadlines.Progress()
    assert not deadlines.met("meeting", nothing)
    assert deadlines.met("meeting", deadlines.Progress(meeting_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert deadlines.met("postmortem:in_review", deadlines.Progress(postmortem_status="final"))
    assert not deadlines.met("postmortem:final", deadlines.Progress(postmortem_status="in_review"))
    assert deadlines.met("postmortem:created", deadlines.Progress(postmortem_status="draft"))
    assert not deadlines.met("postmortem:created", nothing)
    progress = deadlines.Progress(checklists={"follow-up": True, "direct-na-resolution": False})
    assert deadlines.met("checklist:follow-up", progress)
    assert not deadlines.met("checklist:direct-na-resolution", progress)
    assert not deadlines.met("checklist:unknown", progress)
    assert deadlines.met("action_items", deadlines.Progress(postmortem_status="draft"))
    busy = deadlines.Progress(postmortem_status="draft", open_action_items=2)
    assert not deadlines.met("action_items", busy)


async def _resolved_p0(ctx: Context) -> str:
    async with ctx.db.write() as session:
        data = DeclareIn(title="Betalingen mislukken", severity="P0")
        ref = (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref
        await incidents.set_status(session, SYSTEM, ref, "resolved", clock=ctx.clock)
    return ref


async def _told(ctx: Context, name: str) -> list[timedelta]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(IncidentEvent).where(IncidentEvent.kind == "reminder").order_by(IncidentEvent.at)
        )
        resolved = await session.scalar(
            select(IncidentEvent.at).where(IncidentEvent.kind == "status")
        )
        assert resolved is not None
        return [e.at - resolved for e in rows if name in e.summary]


async def test_the_24_hour_checklist_is_chased_only_while_unchecked(ctx: Context) -> None:
    load_handlers()
    await apply_policy(ctx, SEED_000)
    await _resolved_p0(ctx)
    second = await _resolved_p0(ctx)
    async with ctx.db.write() as session:
        incident = await incidents.get(session, SYSTEM, second)
        for item in await incidents.checklist(session, incident):
            if item.checklist == "direct-na-resolution":
                await incidents.set_checked(session, SYSTEM, second, item.id, True, clock=ctx.clock)
    await run_for(ctx, timedelta(hours=30))
    # Only the first incident's checklist is overdue at 24 hours.
    assert await _told(ctx, "Direct Na Resolution (< 24 uur) overdue") == [timedelta(hours=24)]
