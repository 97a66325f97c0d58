"""Gap-free incident numbers, taken as the declaration's last write.

The day's counter row stays locked from the moment it is bumped until the transaction
commits, so every other declaration that day waits for it: the shorter that moment, the
more declarations a second (on PostgreSQL, with many API processes). A declaration
therefore runs under a provisional reference, unique and never committed; its last write
bumps the counter, and the real reference replaces the provisional one in every row of
the transaction that holds it (the incident, the messages rendered for it, its jobs).
Timeline and audit rows are append-only in the database: they are held back from every
flush and written once, at the end, with the real reference.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.incidents.models import IncidentCounter, IncidentEvent

#: Provisional references start with this (letters, digits and dashes only, so they
#: survive URLs, Markdown and JSON unchanged).
PROVISIONAL = "INC-provisional-"


#: Declarations one process runs at once. From its number to its commit a declaration
#: holds the day's counter row, and each step in between waits on the event loop behind
#: the work of everything else in flight: past a few at once, each holds the row longer,
#: the next ones queue behind it, and a process under load takes fewer a second, not more.
AT_ONCE = 4
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def turn() -> asyncio.Semaphore:
    """Hold while declaring (around the whole transaction): :data:`AT_ONCE` per process
    (per event loop)."""
    loop = asyncio.get_running_loop()
    semaphore = _turns.get(loop)
    if semaphore is None:
        semaphore = _turns[loop] = asyncio.Semaphore(AT_ONCE)
    return semaphore


def format_ref(day: str, number: int) -> str:
    return f"INC-{day}-{number:03d}"


async def take_number(session: AsyncSession, day: str) -> str:
    """The day's next reference: an upsert on its counter row, locked until commit."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    upsert = (
        insert(IncidentCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(
            index_elements=[IncidentCounter.day], set_={"last": IncidentCounter.last + 1}
        )
        .returning(IncidentCounter.last)
    )
    return format_ref(day, int((await session.execute(upsert)).scalar_one()))


def _replaced(value: Any, old: str, new: str) -> Any:
    """``value`` with ``old`` replaced in every string inside it (JSON: dicts, lists)."""
    if isinstance(value, str):
        return value.replace(old, new) if old in value else value
    if isinstance(value, dict):
        return {_replaced(k, old, new): _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, old, new) for v in value]
    return value


class Provisional:
    """A declaration's provisional reference, and every row the session writes or loads
    while it is open (held here: the session's identity map forgets rows nothing else
    refers to)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.ref = PROVISIONAL + secrets.token_hex(6)
        self._rows: list[object] = []
        #: Rows of append-only tables, kept out of every flush until the number is known.
        self._held_back: list[object] = []

    def _hold(self, session: Session, row: object) -> None:
        self._rows.append(row)

    def _hold_back(self, session: Session, *_: object) -> None:
        for row in [r for r in session.new if isinstance(r, APPEND_ONLY)]:
            session.expunge(row)
            self._held_back.append(row)

    def __enter__(self) -> Provisional:
        for name in _EVENTS:
            event.listen(self.session.sync_session, name, self._hold)
        event.listen(self.session.sync_session, "before_flush", self._hold_back)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in _EVENTS:
            event.remove(self.session.sync_session, name, self._hold)
        if event.contains(self.session.sync_session, "before_flush", self._hold_back):
            event.remove(self.session.sync_session, "before_flush", self._hold_back)
        self._rows.clear()
        self._held_back.clear()

    async def assign(self, day: str) -> str:
        """Take the day's number and put it in place of the provisional reference in
        every row held; flushes. Returns the reference."""
        await self.session.flush()
        ref = await take_number(self.session, day)
        for row in [*self._rows, *self._held_back]:
            state = inspect(row)
            for attribute in state.mapper.column_attrs:
                value = state.dict.get(attribute.key)
                if value is None or isinstance(value, int | float | bool):
                    continue
                changed = _replaced(value, self.ref, ref)
                if changed != value:
                    setattr(row, attribute.key, changed)
        event.remove(self.session.sync_session, "before_flush", self._hold_back)
        self.session.add_all(self._held_back)
        self._held_back.clear()
        await self.session.flush()
        return ref


#: Tables the database keeps append-only (``migrations/append_only.py``): their rows of a
#: declaration are written once, with the real reference.
APPEND_ONLY = (AuditEntry, IncidentEvent)
#: Session events by which a row enters the session: written, or read (a row written by
#: an ``INSERT ... RETURNING`` statement and loaded).
_EVENTS = ("pending_to_persistent", "loaded_as_persistent")
