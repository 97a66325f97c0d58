"""Which function runs a job of a given kind.

A domain registers its handlers in its own ``handlers.py``::

    @handler("escalation.step")
    async def step(session: AsyncSession, job: Job, clock: Clock) -> None: ...

and ``tocsin/handlers.py`` imports every such module, so :func:`load_handlers` (called by
every worker) knows them all. A handler runs inside the job's own write transaction, the
one that marks the job done: it flushes, never commits, and if it raises, its writes are
rolled back and the job is retried with backoff.

A handler may return an :data:`AfterCommit`: work that must not hold the transaction open
(a network call to a provider), run by the worker once the job's transaction committed,
with its own transactions. If it never runs (the worker died), the handler must have left
a row and a timer in its transaction from which the work is picked up again.

A kind may also have a :func:`batch_handler`: when a worker claims several jobs of that
kind at once, it runs them in one transaction (one round trip per statement for all of
them, not per job). If that transaction fails, each job runs again on its own through the
ordinary handler, so one bad job fails alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.jobs.models import Job
from tocsin.settings import Settings

AfterCommit = Callable[[Database, Clock], Awaitable[None]]
Handler = Callable[[AsyncSession, Job, Clock], Awaitable[AfterCommit | None]]
BatchHandler = Callable[[AsyncSession, list[Job], Clock], Awaitable[AfterCommit | None]]

_HANDLERS: dict[str, Handler] = {}
_BATCH_HANDLERS: dict[str, BatchHandler] = {}


def _name(function: Handler) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine function as the handler of jobs of ``kind``."""

    def register(function: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        # The same function may register again (a module imported twice); another may not.
        if existing is not None and _name(existing) != _name(function):
            raise ValueError(f"job kind {kind!r} already has a handler: {_name(existing)}")
        _HANDLERS[kind] = function
        return function

    return register


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def batch_handler(kind: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register the decorated coroutine function to run many jobs of ``kind`` at once (the
    kind needs an ordinary :func:`handler` too: it runs a job alone)."""

    def register(function: BatchHandler) -> BatchHandler:
        _BATCH_HANDLERS[kind] = function
        return function

    return register


def batch_handler_for(kind: str) -> BatchHandler | None:
    return _BATCH_HANDLERS.get(kind)


def kinds() -> list[str]:
    """Every registered kind, sorted."""
    return sorted(_HANDLERS)


def load_handlers(settings: Settings | None = None) -> None:
    """Import ``tocsin.handlers`` and the modules named by ``Settings.handler_modules``.

    Idempotent: modules already imported are not imported again.
    """
    importlib.import_module("tocsin.handlers")
    for module in (settings or Settings()).handler_modules:
        importlib.import_module(module)
