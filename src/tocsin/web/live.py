"""Server-Sent Events: a small polling loop over the timeline table. The page works
without them; ``web.js`` reloads the page's live parts when an event arrives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.context import Context
from tocsin.web import service

#: Seconds between two looks at the timeline (real time: this is plumbing, not domain time).
POLL_SECONDS = 1.0
#: A stream ends after this many looks; the browser reconnects (with Last-Event-ID).
MAX_POLLS = 600
#: A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_POLLS = 15

#: One event: its name, its id (a timeline row's) and its data.
Frame = tuple[str, int, object]
#: What one look finds newer than the id given.
Look = Callable[[AsyncSession, int], Awaitable[list[Frame]]]
Gone = Callable[[], Awaitable[bool]]


def frame(event: str, ident: int, data: object) -> str:
    return f"id: {ident}\nevent: {event}\ndata: {json.dumps(data)}\n\n"


async def _stream(
    ctx: Context, look: Look, after: int, gone: Gone, polls: int, interval: float
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    for poll in range(polls):
        async with ctx.db.read() as session:
            found = await look(session, after)
        for event, ident, data in found:
            after = ident
            yield frame(event, ident, data)
        if not found and poll % KEEPALIVE_POLLS == KEEPALIVE_POLLS - 1:
            yield ": keep-alive\n\n"
        if await gone():
            return
        await asyncio.sleep(interval)


def room_stream(
    ctx: Context,
    actor: Actor,
    ref: str,
    after: int,
    *,
    gone: Gone,
    polls: int = MAX_POLLS,
    interval: float = POLL_SECONDS,
) -> AsyncIterator[str]:
    """One ``timeline`` event per new timeline row of the incident."""

    async def look(session: AsyncSession, newer: int) -> list[Frame]:
        rows = await service.events_after(session, actor, ref, newer)
        return [
            ("timeline", r.id, {"id": r.id, "kind": r.kind, "summary": r.summary}) for r in rows
        ]

    return _stream(ctx, look, after, gone, polls, interval)


def list_stream(
    ctx: Context,
    actor: Actor,
    after: int,
    *,
    gone: Gone,
    polls: int = MAX_POLLS,
    interval: float = POLL_SECONDS,
) -> AsyncIterator[str]:
    """An ``incidents`` event whenever any incident the viewer may see changes."""

    async def look(session: AsyncSession, newer: int) -> list[Frame]:
        latest = await service.latest_event(session, actor)
        return [("incidents", latest, {"last": latest})] if latest > newer else []

    return _stream(ctx, look, after, gone, polls, interval)
