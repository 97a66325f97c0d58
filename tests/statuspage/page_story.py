"""A status page with a story, made through the status page's own services (seed 004's
components): an incident three days ago, resolved; one open now with two updates; a
maintenance in progress and one scheduled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.statuspage import service
from tocsin.statuspage.schemas import MaintenanceIn, MaintenanceUpdateIn, PublishIn, UpdateIn

OPEN_BODY = "Scores are not being saved. We are looking into it."
OPEN_UPDATE = "A database migration locks the scores table."
RESOLVED_BODY = "Game loading works again for everyone."


@dataclass
class Story:
    open_id: str
    resolved_id: str
    ongoing_id: str
    upcoming_id: str


async def tell(ctx: Context) -> Story:
    clock = ctx.clock
    assert isinstance(clock, VirtualClock)
    async with ctx.db.write() as session:
        old = await service.publish(
            session,
            SYSTEM,
            PublishIn(
                name="Games do not load",
                body="Some games do not load.",
                components={"game-player": "partial_outage"},
                impact="minor",
                deliver_notifications=False,
            ),
            clock=clock,
        )
    clock.advance(hours=2)
    async with ctx.db.write() as session:
        await service.post_update(
            session,
            SYSTEM,
            old.public_id,
            UpdateIn(status="resolved", body=RESOLVED_BODY, deliver_notifications=False),
            clock=clock,
        )
    clock.advance(days=3)
    async with ctx.db.write() as session:
        now = await service.publish(
            session,
            SYSTEM,
            PublishIn(
                name="Scores are not saving",
                body=OPEN_BODY,
                components={"score-recording": "partial_outage"},
                impact="major",
                deliver_notifications=False,
            ),
            clock=clock,
        )
        ongoing = await service.schedule_maintenance(
            session,
            SYSTEM,
            MaintenanceIn(
                name="Reports database upgrade",
                body="Reports may be slow while the database is upgraded.",
                scheduled_for=clock.now(),
                scheduled_until=clock.now() + timedelta(hours=2),
                components=["reports"],
                auto_transition=False,
                deliver_notifications=False,
            ),
            clock=clock,
        )
        upcoming = await service.schedule_maintenance(
            session,
            SYSTEM,
            MaintenanceIn(
                name="Payment provider switch",
                body="Payments pause for ten minutes.",
                scheduled_for=clock.now() + timedelta(days=2),
                scheduled_until=clock.now() + timedelta(days=2, hours=1),
                components=["payments"],
                auto_transition=False,
                deliver_notifications=False,
            ),
            clock=clock,
        )
    clock.advance(minutes=20)
    async with ctx.db.write() as session:
        await service.post_update(
            session,
            SYSTEM,
            now.public_id,
            UpdateIn(
                status="identified",
                body=OPEN_UPDATE,
                components={"score-recording": "major_outage"},
                deliver_notifications=False,
            ),
            clock=clock,
        )
        await service.move_maintenance(
            session,
            SYSTEM,
            ongoing.public_id,
            MaintenanceUpdateIn(
                status="in_progress", body="The upgrade has started.", deliver_notifications=False
            ),
            clock=clock,
        )
    clock.advance(minutes=5)
    return Story(now.public_id, old.public_id, ongoing.public_id, upcoming.public_id)
