"""Queue notifications: the outbox row and its delivery job, in the caller's transaction.

A message exists exactly when its cause does: :func:`queue` writes the row and a
``notify.deliver`` job (de-duplication key ``notify:<id>``) without committing. The same
idempotency key queued again returns the row already there and writes nothing, so a
retried cause never sends twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.errors import InvalidInput
from tocsin.incidents.models import Incident
from tocsin.jobs import service as jobs
from tocsin.notify.models import Notification, NotificationAttempt
from tocsin.policy.schema import Policy
from tocsin.policy.schema_notify import AnyChannel

DELIVER = "notify.deliver"
#: Tries before a notification that keeps failing temporarily is given up as failed.
MAX_ATTEMPTS = 8


def job_key(notification_id: int) -> str:
    return f"notify:{notification_id}"


def channel(policy: Policy, key: str) -> AnyChannel:
    """The policy's channel ``key``."""
    found = next((c for c in policy.channels if c.key == key), None)
    if found is None:
        known = ", ".join(sorted(c.key for c in policy.channels)) or "none defined"
        raise InvalidInput(f"unknown channel {key!r} (known: {known})", details={"channel": key})
    return found


@dataclass(frozen=True)
class Outgoing:
    """One message to accept for delivery (see :func:`queue`)."""

    channel: AnyChannel
    recipient: str
    subject: str
    text: str
    idempotency_key: str
    html: str | None = None
    data: dict[str, Any] | None = None
    person: str | None = None


async def queue(
    session: AsyncSession,
    *,
    channel: AnyChannel,
    recipient: str,
    subject: str,
    text: str,
    html: str | None = None,
    incident: Incident | None = None,
    idempotency_key: str,
    clock: Clock,
    data: dict[str, Any] | None = None,
    person: str | None = None,
) -> Notification:
    """Accept a message for delivery through ``channel``; flushes, never commits.

    ``person`` (a handle) marks a message to one of that person's contact methods: such
    messages are throttled per (channel, recipient), see ``notify/throttle.py``.
    """
    message = Outgoing(channel, recipient, subject, text, idempotency_key, html, data, person)
    (row,) = await queue_many(session, [message], incident=incident, clock=clock)
    return row


async def queue_many(
    session: AsyncSession,
    messages: Sequence[Outgoing],
    *,
    incident: Incident | None,
    clock: Clock,
) -> list[Notification]:
    """:func:`queue` for several messages of one cause: one INSERT for the rows and one for
    their delivery jobs, whatever their number. Returns the rows in the order given (a key
    already queued returns its row, and writes nothing)."""
    for message in messages:
        if not message.idempotency_key or len(message.idempotency_key) > 255:
            raise InvalidInput("an idempotency key of 1 to 255 characters is required")
        if not message.recipient.strip():
            raise InvalidInput("a notification needs a recipient")
    if not messages:
        return []
    now = clock.now()
    values = [_row_values(message, incident, now) for message in messages]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # The rows as parameters of one cached statement (not a VALUES list compiled anew for
    # each call): SQLAlchemy sends them as one INSERT all the same.
    statement = (
        insert(Notification)
        .on_conflict_do_nothing(index_elements=[Notification.idempotency_key])
        .returning(Notification)
    )
    options = {"populate_existing": True}
    fresh = list((await session.scalars(statement, values, execution_options=options)).all())
    by_key = {row.idempotency_key: row for row in fresh}
    missing = [m.idempotency_key for m in messages if m.idempotency_key not in by_key]
    if missing:  # queued before: the rows already there (visible to this transaction)
        query = select(Notification).where(Notification.idempotency_key.in_(missing))
        by_key.update({row.idempotency_key: row for row in await session.scalars(query)})
    await jobs.enqueue_many(
        session,
        DELIVER,
        [{"notification": row.id} for row in fresh],
        clock=clock,
        dedup_keys=[job_key(row.id) for row in fresh],
    )
    return [by_key[message.idempotency_key] for message in messages]


def _row_values(message: Outgoing, incident: Incident | None, now: datetime) -> dict[str, Any]:
    return {
        "incident_id": incident.id if incident is not None else None,
        "channel_key": message.channel.key,
        "channel_kind": message.channel.type,
        "recipient": message.recipient,
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        # The channel's settings as they were (environment variable names, no secrets),
        # so delivery needs no policy and a later policy change does not reroute it.
        "payload": {
            "channel": message.channel.model_dump(mode="json", by_alias=True),
            "incident": incident.ref if incident is not None else None,
            "data": message.data or {},
        },
        "idempotency_key": message.idempotency_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "person": message.person,
    }


async def attempts_of(session: AsyncSession, notification_id: int) -> list[NotificationAttempt]:
    """The delivery attempts of a notification, oldest first."""
    query = (
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id == notification_id)
        .order_by(NotificationAttempt.at, NotificationAttempt.id)
    )
    return list((await session.scalars(query)).all())


async def failures_by_channel(session: AsyncSession) -> dict[str, int]:
    """For ``/metrics``: notifications given up as failed, per channel."""
    rows = await session.execute(
        select(Notification.channel_key, func.count())
        .where(Notification.status == "failed")
        .group_by(Notification.channel_key)
    )
    return {channel_key: int(count) for channel_key, count in rows.all()}
