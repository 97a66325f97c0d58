"""Taking alert events in under load: a key cache and group commit, one per server process.

Why: stored one request at a time, an event costs a transaction of its own, some ten
round trips (policy, key, event, job, wake-up, commit) and a commit that waits for the
disk (PostgreSQL's WAL flush) or for the write lock (SQLite). Under load that, not
parsing, limits how many events a server takes in (``bench/ingest.py``).

How: a door hands the events of a request, parsed, verified and authenticated, to its
process's :class:`Intake`, which writes all the events waiting in one transaction: the
events and their jobs in two multi-row INSERTs, one commit. There is no timer: while one
transaction is being written the events arriving wait and make the next, so an event on
its own is written at once (after a few turns of the event loop, so that requests
already received join it), and under load a transaction takes what arrived during the
last one.

What stays as it was:

- A request answers only after the transaction holding its events committed: ``202``
  means stored, with the job that processes each event. If the transaction fails, every
  request in it hears so and nothing of it was stored (the doors answer ``503``: retry).
  A failure other than the database being unavailable is retried one request at a time,
  so that a request the database refuses fails alone.
- Keys: :meth:`Intake.authenticate` keeps what :func:`~tocsin.alerts.service.authenticate`
  found for a key, so a request costs no query; but each transaction checks again, in
  itself, the keys and the policy of the events it writes
  (:func:`~tocsin.alerts.service.still_valid`). Events whose key was rotated since (or
  whose integration's policy changed) are not written: their request authenticates
  afresh, and a rotated key is refused at once, as before.
- Order: events are written in the order their requests handed them in, so those of one
  (integration, dedup key) are processed in the order they were accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from tocsin.alerts import service as alerts
from tocsin.alerts.schemas import IncomingEvent
from tocsin.clock import Clock
from tocsin.db import Database

#: Seconds a key's authentication is kept (every transaction checks it again anyway).
KEY_SECONDS = 60.0
#: Keys kept at most (the oldest is forgotten first).
MAX_KEYS = 10_000
#: Events written in one transaction at most.
MAX_EVENTS = 1_000
#: Turns of the event loop before a transaction takes the events waiting: requests already
#: read from their sockets get there meanwhile and join it (microseconds when idle; under
#: load, about half again as many events per transaction).
GATHER_TURNS = 4
#: Times a request authenticates again when its key or the policy changed under it.
ATTEMPTS = 3

Admit = Callable[[alerts.Receiver], Sequence[IncomingEvent]]


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database is unavailable (down, unreachable, its
    connection lost, busy past its timeout): nothing was stored; the sender should retry."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | OSError)


class Stale(Exception):
    """The key or the policy changed since the receiver was authenticated; nothing was
    stored."""


@dataclass
class _Waiting:
    receiver: alerts.Receiver
    events: Sequence[IncomingEvent]
    answer: asyncio.Future[list[str]]


class Intake:
    """One server process's way in for alert events (see the module's documentation)."""

    def __init__(self, db: Database, clock: Clock, *, max_events: int = MAX_EVENTS) -> None:
        self.db = db
        self.clock = clock
        self.max_events = max_events
        self._keys: dict[tuple[str, str], tuple[float, alerts.Receiver]] = {}
        self._waiting: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        #: Transactions committed, for tests and figures.
        self.commits = 0

    async def take(self, secret: str, integration_type: str, admit: Admit) -> list[str]:
        """Authenticate ``secret``, turn the request into events with ``admit`` (parse,
        verify, rate-limit: it raises to refuse), store them; their dedup keys, once
        committed. Raises :class:`~tocsin.alerts.service.UnknownKey`, what ``admit``
        raises, what writing raised (nothing was stored; see :func:`unavailable`), or
        :class:`Stale` if the key or the policy kept changing."""
        for attempt in range(ATTEMPTS):
            receiver = await self.authenticate(secret, integration_type, fresh=attempt > 0)
            try:
                return await self.store(receiver, admit(receiver))
            except Stale:
                continue
        raise Stale(f"the key or the policy changed {ATTEMPTS} times while storing")

    async def authenticate(
        self, secret: str, integration_type: str, *, fresh: bool = False
    ) -> alerts.Receiver:
        """The receiver of ``secret``: kept from an earlier request unless ``fresh``."""
        cache_key = (integration_type, alerts.key_hash(secret))
        now = time.monotonic()
        kept = self._keys.pop(cache_key, None)
        if kept is not None and not fresh and kept[0] > now:
            self._keys[cache_key] = kept
            return kept[1]
        async with self.db.write() as session:
            receiver = await alerts.authenticate(
                session, secret, integration_type, clock=self.clock
            )
        if len(self._keys) >= MAX_KEYS:
            self._keys.pop(next(iter(self._keys)))
        self._keys[cache_key] = (now + KEY_SECONDS, receiver)
        return receiver

    async def store(self, receiver: alerts.Receiver, events: Sequence[IncomingEvent]) -> list[str]:
        """Store the events with the next transaction; their dedup keys once it committed.
        Raises :class:`Stale` or what writing raised: then nothing of them was stored."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[str]] = loop.create_future()
        self._waiting.append(_Waiting(receiver, events, answer))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_waiting(), name="tocsin alert intake")
        return await answer

    async def _write_waiting(self) -> None:
        while self._waiting:
            for _ in range(GATHER_TURNS):
                await asyncio.sleep(0)
            batch: list[_Waiting] = []
            size = 0
            while self._waiting and (
                not batch or size + len(self._waiting[0].events) <= self.max_events
            ):
                waiting = self._waiting.popleft()
                if not waiting.answer.done():  # done: its request went away first
                    batch.append(waiting)
                    size += len(waiting.events)
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            async with self.db.write() as session:
                valid = await alerts.still_valid(session, [w.receiver for w in batch])
                kept = [w for w, ok in zip(batch, valid, strict=True) if ok]
                received = [(w.receiver.integration.id, w.events) for w in kept]
                keys = await alerts.ingest_many(session, received, clock=self.clock)
        except asyncio.CancelledError:  # the process is stopping: its requests too
            for waiting in batch:
                waiting.answer.cancel()
            raise
        except Exception as exc:
            if len(batch) == 1 or unavailable(exc):
                for waiting in batch:
                    _fail(waiting, exc)
                return
            for waiting in batch:  # find the one the database refuses
                await self._write([waiting])
            return
        self.commits += 1
        for waiting, dedup_keys in zip(kept, keys, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(dedup_keys)
        for waiting, ok in zip(batch, valid, strict=True):
            if not ok:
                _fail(waiting, Stale())


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.answer.done():
        waiting.answer.set_exception(error)
