"""PostgreSQL wake-ups shared by the workers of one process: one ``LISTEN tocsin_jobs``
connection per database and event loop, however many worker loops run there.

A notice (a job written, due at the time it carries; see ``jobs/wake.py``) wakes **one**
sleeping worker, and only if none of them already plans to look before the job is due;
workers in the middle of a pass are flagged, so one that was about to sleep looks again.
A worker whose claim came back full calls :meth:`Listener.more` to wake another sleeper.
Waking every loop of every process for every job (a thundering herd of empty claims)
cost more database round trips than the jobs themselves.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Protocol

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from tocsin.jobs import wake

log = logging.getLogger("tocsin.jobs")

#: Seconds between checks that the LISTEN connection is still alive.
HEALTH_CHECK = 30.0
#: Query parameters of a SQLAlchemy URL that asyncpg's DSN understands too.
_DSN_PARAMS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslpassword",
    "target_session_attrs",
    "application_name",
    "connect_timeout",
    "passfile",
    "service",
}


class Sleeper(Protocol):
    """What the listener needs of a worker."""

    @property
    def sleep_until(self) -> float | None:
        """When it plans to look next (epoch seconds); None while in a pass."""

    def wake(self) -> None: ...


def asyncpg_dsn(url: str) -> str:
    """asyncpg's DSN for a ``postgresql+asyncpg://`` SQLAlchemy URL."""
    parsed = make_url(url)
    query: dict[str, str | tuple[str, ...]] = {}
    for key, value in parsed.query.items():
        if key == "ssl":
            query["sslmode"] = value
        elif key in _DSN_PARAMS:
            query[key] = value
    return parsed.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


class Listener:
    """The shared LISTEN of one database in one event loop (see :func:`joined`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ready = asyncio.Event()
        self.workers: list[Sleeper] = []
        self._task: asyncio.Task[None] | None = None

    def notice(self, payload: str) -> None:
        due = wake.due_of(payload)
        sleeping: list[tuple[float, Sleeper]] = []
        for worker in self.workers:
            until = worker.sleep_until
            if until is None:
                worker.wake()  # in a pass: look again before sleeping
            else:
                sleeping.append((until, worker))
        if not sleeping or (due is not None and min(u for u, _ in sleeping) <= due):
            return  # one of them looks by then anyway
        min(sleeping, key=lambda planned: planned[0])[1].wake()

    def more(self) -> None:
        """Wake another sleeping worker: a claim came back full, more work is waiting."""
        for worker in self.workers:
            if worker.sleep_until is not None:
                worker.wake()
                return

    def everyone(self) -> None:
        for worker in self.workers:
            worker.wake()

    async def run(self) -> None:
        """LISTEN until cancelled; reconnect (and have everyone look) whenever it drops."""
        dsn = asyncpg_dsn(self.url)
        failures = 0
        while True:
            try:
                await self._listen_once(dsn)
                failures = 0
                log.warning("job workers: LISTEN connection closed")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                failures += 1
                log.warning("job workers: LISTEN connection failed: %s", exc)
            await asyncio.sleep(min(30.0, 0.25 * 2 ** min(failures, 7)))

    async def _listen_once(self, dsn: str) -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(
                wake.CHANNEL, lambda _conn, _pid, _channel, payload: self.notice(payload)
            )
            self.ready.set()
            self.everyone()  # whatever was written while nobody listened: look now
            while not lost.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEALTH_CHECK)
                if not lost.is_set():
                    await connection.execute("SELECT 1", timeout=10)
        finally:
            with suppress(Exception):
                await connection.close(timeout=2)


_listeners: dict[tuple[asyncio.AbstractEventLoop, str], Listener] = {}


def join(url: str, worker: Sleeper) -> Listener:
    """The listener of ``url`` in this event loop, started on first use, with ``worker``."""
    key = (asyncio.get_running_loop(), wake.database_key(url))
    listener = _listeners.get(key)
    if listener is None:
        listener = _listeners[key] = Listener(url)
        listener._task = asyncio.create_task(listener.run(), name="LISTEN tocsin_jobs")
    listener.workers.append(worker)
    return listener


async def leave(listener: Listener, worker: Sleeper) -> None:
    """Without ``worker``; the last one to leave closes the connection."""
    listener.workers.remove(worker)
    if listener.workers:
        return
    key = (asyncio.get_running_loop(), wake.database_key(listener.url))
    if _listeners.get(key) is listener:
        del _listeners[key]
    if listener._task is not None:
        listener._task.cancel()
        with suppress(asyncio.CancelledError):
            await listener._task
