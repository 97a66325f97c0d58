"""Server-Sent Events: a small polling loop over the timeline table. The page works
without them; ``web.js`` reloads the page's live parts when an event arrives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from tocsin.auth.actor import Actor
from tocsin.context import Context
from tocsin.web import service

#: Seconds between two looks at the timeline (real time: this is plumbing, not domain time).
POLL_SECONDS = 1.0
#: A stream ends after this many looks; the browser reconnects (with Last-Event-ID).
MAX_POLLS = 600
#: A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_POLLS = 15


def frame(event: str, ident: int, data: object) -> str:
    return f"id: {ident}\nevent: {event}\ndata: {json.dumps(data)}\n\n"


async def room_stream(
    ctx: Context,
    actor: Actor,
    ref: str,
    after: int,
    *,
    gone: Callable[[], Awaitable[bool]],
    polls: int = MAX_POLLS,
    interval: float = POLL_SECONDS,
) -> AsyncIterator[str]:
    """One ``timeline`` event per new timeline row of the incident."""
    yield "retry: 2000\n\n"
    for poll in range(polls):
        async with ctx.db.read() as session:
            rows = await service.events_after(session, actor, ref, after)
        for row in rows:
            after = row.id
            yield frame(
                "timeline", row.id, {"id": row.id, "kind": row.kind, "summary": row.summary}
            )
        if not rows and poll % KEEPALIVE_POLLS == KEEPALIVE_POLLS - 1:
            yield ": keep-alive\n\n"
        if await gone():
            return
        await asyncio.sleep(interval)


async def list_stream(
    ctx: Context,
    actor: Actor,
    after: int,
    *,
    gone: Callable[[], Awaitable[bool]],
    polls: int = MAX_POLLS,
    interval: float = POLL_SECONDS,
) -> AsyncIterator[str]:
    """An ``incidents`` event whenever any incident the viewer may see changes."""
    yield "retry: 2000\n\n"
    for poll in range(polls):
        async with ctx.db.read() as session:
            latest = await service.latest_event(session, actor)
        if latest > after:
            after = latest
            yield frame("incidents", latest, {"last": latest})
        elif poll % KEEPALIVE_POLLS == KEEPALIVE_POLLS - 1:
            yield ": keep-alive\n\n"
        if await gone():
            return
        await asyncio.sleep(interval)
