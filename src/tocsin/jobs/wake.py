"""Waking sleeping workers when a job is written, only once its transaction has committed.

PostgreSQL: :func:`mark` sends ``pg_notify('tocsin_jobs', '<due time>')`` in the writing
transaction; the server delivers it at commit to every connection that LISTENs on the
channel (any process, any host), and drops it on rollback. The payload is the job's due
time (seconds since the epoch), so a worker that already plans to wake before then sleeps
on (:func:`due_of`); one notice per transaction, unless a later job is due sooner.

A job due beyond :data:`HORIZON` wakes nobody: every sleeping worker looks again within
that time anyway (its backstop), and finds it then. Nor does a timer written with
``Timer.wakes`` false, such as a delivery's recovery timer (set for when each send's
lease runs out; it matters only if the sender died).

SQLite (one host, usually one process): :func:`mark` flags the session, and a SQLAlchemy
``after_commit`` hook wakes the workers of this process that work on the same database
file. Nothing is woken by a transaction that rolls back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

#: The PostgreSQL channel workers LISTEN on.
CHANNEL = "tocsin_jobs"
_FLAG = "tocsin_jobs_wake"
_NOTIFIED = "tocsin_jobs_notified"
#: The longest a worker sleeps without looking: jobs due later need no wake-up.
HORIZON = timedelta(seconds=60)

_lock = threading.Lock()
#: Database URL → the events of the workers sleeping on it (with their loops).
_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}


def database_key(url: str) -> str:
    """One spelling per database, so that a writer and a worker agree on the key."""
    return make_url(url).render_as_string(hide_password=False)


async def mark(session: AsyncSession, due_at: datetime, now: datetime) -> None:
    """Wake the workers once the session's transaction commits (call after writing a job
    due at ``due_at``), unless it is due beyond :data:`HORIZON` from ``now``."""
    if due_at > now + HORIZON:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Once per transaction for the soonest job; but a savepoint that rolls back drops
        # its NOTIFY, so inside one every job notifies.
        nested = session.in_nested_transaction()
        sent = session.info.get(_NOTIFIED)
        if sent is not None and sent <= due_at and not nested:
            return
        payload = f"{due_at.timestamp():.3f}"
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )
        if not nested:
            session.info[_NOTIFIED] = due_at
    else:
        session.info[_FLAG] = database_key(bind.engine.url.render_as_string(hide_password=False))


def due_of(payload: str) -> float | None:
    """The due time a notice carries (epoch seconds); None for one without (wake anyway)."""
    try:
        return float(payload)
    except ValueError:
        return None


def subscribe(url: str, wake: asyncio.Event) -> Callable[[], None]:
    """Set ``wake`` after every commit that wrote a job to ``url`` in this process.

    Returns the function that unsubscribes. Call from the loop ``wake`` belongs to.
    """
    entry = (asyncio.get_running_loop(), wake)
    key = database_key(url)
    with _lock:
        _waiters.setdefault(key, set()).add(entry)

    def unsubscribe() -> None:
        with _lock:
            waiting = _waiters.get(key)
            if waiting is not None:
                waiting.discard(entry)
                if not waiting:
                    del _waiters[key]

    return unsubscribe


def wake_local(url: str) -> None:
    """Wake this process's workers on ``url`` (thread-safe)."""
    with _lock:
        waiting = list(_waiters.get(database_key(url), ()))
    for loop, wake in waiting:
        if not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_NOTIFIED, None)
    key = session.info.pop(_FLAG, None)
    if key is not None:
        wake_local(key)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_NOTIFIED, None)
    session.info.pop(_FLAG, None)
