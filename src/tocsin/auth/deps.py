"""FastAPI dependencies: the boundary's context and the acting user (bearer token), and
parameter types the routers share."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import AfterValidator, AwareDatetime

from tocsin.auth import service as auth
from tocsin.auth.actor import Actor
from tocsin.clock import to_utc
from tocsin.context import Context
from tocsin.db import MAX_INT
from tocsin.errors import Unauthenticated

#: Recording "last used" on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def context_of(request: Request) -> Context:
    """The app's context, for the doors that take so many requests that resolving a
    dependency shows (``/v2/enqueue``)."""
    context: Context = request.app.state.context
    return context


async def get_context(request: Request) -> Context:
    """Async, so that FastAPI does not run it in a thread (as it does a plain function)."""
    return context_of(request)


async def get_actor(request: Request, ctx: Annotated[Context, Depends(get_context)]) -> Actor:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthenticated(
            "send an API token as 'Authorization: Bearer <token>' (create one with `tocsin token create`)"
        )
    async with ctx.db.single() as connection:
        holder = await auth.token_holder(connection, secret)
    last = holder.last_used_at
    if last is None or ctx.clock.now() - last >= LAST_USED_RESOLUTION:
        async with ctx.db.write() as session:
            await auth.touch_token(session, holder.token_id, clock=ctx.clock)
    return holder.actor


ContextDep = Annotated[Context, Depends(get_context)]
ActorDep = Annotated[Actor, Depends(get_actor)]

#: A numeric id in a path: positive and small enough for an INTEGER column, so that an
#: absurd one is a 422 rather than an overflow in the query.
IdPath = Annotated[int, Path(ge=1, le=MAX_INT)]
#: An instant in a query string: with a time zone (a naive one is ambiguous), in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(to_utc)]
