"""REST doors to on-call schedules: who is on call, shifts, overrides and calendar feeds.

Times in query strings and bodies may carry an offset (``2026-03-29T09:00+02:00``, ``Z``)
or not (``2026-03-29T09:00``, ``2026-03-29``): then they are wall-clock times in the
schedule's zone (see :mod:`tocsin.oncall.service`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.errors import ERROR_RESPONSES
from tocsin.oncall import schemas
from tocsin.oncall import service as oncall

router = APIRouter(tags=["on-call"], responses=ERROR_RESPONSES)

Key = Annotated[str, Path(max_length=64, description="A schedule key of the policy")]
When = Annotated[
    datetime | None,
    Query(description="ISO 8601; without an offset: wall-clock time in the schedule's zone"),
]
From = Annotated[
    datetime | None,
    Query(alias="from", description="Start (default now); ISO 8601, offset optional"),
]
To = Annotated[
    datetime | None,
    Query(alias="to", description="End (default a week after the start); ISO 8601"),
]
CALENDAR = "text/calendar; charset=utf-8"


@router.get("/oncall", response_model=list[schemas.OnCallOut])
async def who_is_on_call(
    ctx: ContextDep,
    actor: ActorDep,
    at: When = None,
    schedule: Annotated[str | None, Query(max_length=64)] = None,
) -> list[schemas.OnCallOut]:
    """Who is on call now (or ``at``), on every schedule or on ``schedule``."""
    async with ctx.db.read() as session:
        return await oncall.who_is_on_call(
            session, actor, clock=ctx.clock, at=at, schedule=schedule
        )


@router.get("/schedules", response_model=list[schemas.ScheduleOut])
async def list_schedules(ctx: ContextDep, actor: ActorDep) -> list[schemas.ScheduleOut]:
    async with ctx.db.read() as session:
        return await oncall.list_schedules(session, actor, clock=ctx.clock)


@router.get("/schedules/{key}", response_model=schemas.ScheduleOut)
async def get_schedule(key: Key, ctx: ContextDep, actor: ActorDep) -> schemas.ScheduleOut:
    async with ctx.db.read() as session:
        return await oncall.get_schedule(session, actor, key, clock=ctx.clock)


@router.get("/schedules/{key}/shifts", response_model=schemas.ShiftsOut)
async def schedule_shifts(
    key: Key, ctx: ContextDep, actor: ActorDep, start: From = None, end: To = None
) -> schemas.ShiftsOut:
    """The schedule's shifts over [from, to), overrides applied."""
    async with ctx.db.read() as session:
        return await oncall.schedule_shifts(
            session, actor, key, clock=ctx.clock, start=start, end=end
        )


@router.get("/people/{person}/shifts", response_model=schemas.ShiftsOut)
async def person_shifts(
    person: Annotated[str, Path(max_length=254, description="Handle or e-mail")],
    ctx: ContextDep,
    actor: ActorDep,
    start: From = None,
    end: To = None,
) -> schemas.ShiftsOut:
    """One person's shifts on every schedule; times without offset in their zone."""
    async with ctx.db.read() as session:
        return await oncall.person_shifts(
            session, actor, person, clock=ctx.clock, start=start, end=end
        )


@router.post("/schedules/{key}/overrides", status_code=201, response_model=schemas.OverrideOut)
async def add_override(
    key: Key, body: schemas.OverrideIn, ctx: ContextDep, actor: ActorDep
) -> schemas.OverrideOut:
    async with ctx.db.write() as session:
        return await oncall.add_override(session, actor, key, body, clock=ctx.clock)


async def _overrides(
    ctx: ContextDep, actor: ActorDep, schedule: str | None, past: bool, cancelled: bool
) -> list[schemas.OverrideOut]:
    async with ctx.db.read() as session:
        return await oncall.list_overrides(
            session,
            actor,
            clock=ctx.clock,
            schedule=schedule,
            include_past=past,
            include_cancelled=cancelled,
        )


@router.get("/schedules/{key}/overrides", response_model=list[schemas.OverrideOut])
async def schedule_overrides(
    key: Key,
    ctx: ContextDep,
    actor: ActorDep,
    past: Annotated[bool, Query(description="Also overrides that have ended")] = False,
    cancelled: Annotated[bool, Query(description="Also cancelled overrides")] = False,
) -> list[schemas.OverrideOut]:
    return await _overrides(ctx, actor, key, past, cancelled)


@router.get("/oncall/overrides", response_model=list[schemas.OverrideOut])
async def all_overrides(
    ctx: ContextDep,
    actor: ActorDep,
    past: Annotated[bool, Query(description="Also overrides that have ended")] = False,
    cancelled: Annotated[bool, Query(description="Also cancelled overrides")] = False,
) -> list[schemas.OverrideOut]:
    """Overrides on every schedule."""
    return await _overrides(ctx, actor, None, past, cancelled)


@router.delete("/oncall/overrides/{override_id}", response_model=schemas.OverrideOut)
async def cancel_override(
    override_id: IdPath, ctx: ContextDep, actor: ActorDep
) -> schemas.OverrideOut:
    """Cancel an override that has not ended (overrides are numbered across schedules)."""
    async with ctx.db.write() as session:
        return await oncall.cancel_override(session, actor, override_id, clock=ctx.clock)


@router.post("/oncall/feeds", status_code=201, response_model=schemas.NewFeedOut)
async def create_feed(
    body: schemas.FeedIn, request: Request, ctx: ContextDep, actor: ActorDep
) -> schemas.NewFeedOut:
    """A secret calendar URL (iCalendar) for a schedule or a person. Shown once."""
    async with ctx.db.write() as session:
        feed, secret = await oncall.create_feed(
            session, actor, clock=ctx.clock, schedule=body.schedule, person=body.person
        )
        out = schemas.FeedOut.model_validate(feed)
    url = request.url_for("calendar_feed", secret=secret)
    return schemas.NewFeedOut(**out.model_dump(), secret=secret, path=url.path, url=str(url))


@router.get("/oncall/feeds", response_model=list[schemas.FeedOut])
async def list_feeds(ctx: ContextDep, actor: ActorDep) -> list[schemas.FeedOut]:
    """Your calendar feeds (an admin: everyone's); never their secrets."""
    async with ctx.db.read() as session:
        return await oncall.list_feeds(session, actor)


@router.delete("/oncall/feeds/{feed_id}", response_model=schemas.FeedOut)
async def revoke_feed(feed_id: IdPath, ctx: ContextDep, actor: ActorDep) -> schemas.FeedOut:
    async with ctx.db.write() as session:
        return await oncall.revoke_feed(session, actor, feed_id, clock=ctx.clock)


@router.get(
    "/ical/{secret}.ics",
    name="calendar_feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def calendar_feed(secret: Annotated[str, Path(max_length=100)], ctx: ContextDep) -> Response:
    """The calendar feed behind a secret URL: no token needed, the secret is the sign-in
    (an unknown or revoked one is a 401)."""
    async with ctx.db.read() as session:
        text = await oncall.render_feed(session, secret, clock=ctx.clock)
    return Response(
        text,
        media_type=CALENDAR,
        headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
    )
