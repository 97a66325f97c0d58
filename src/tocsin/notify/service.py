"""Queue notifications: the outbox row and its delivery job, in the caller's transaction.

A message exists exactly when its cause does: :func:`queue` writes the row and a
``notify.deliver`` job (de-duplication key ``notify:<id>``) without committing. The same
idempotency key queued again returns the row already there and writes nothing, so a
retried cause never sends twice.
"""

from __future__ import annotations

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
    if not idempotency_key or len(idempotency_key) > 255:
        raise InvalidInput("an idempotency key of 1 to 255 characters is required")
    if not recipient.strip():
        raise InvalidInput("a notification needs a recipient")
    now = clock.now()
    values = {
        "incident_id": incident.id if incident is not None else None,
        "channel_key": channel.key,
        "channel_kind": channel.type,
        "recipient": recipient,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        # The channel's settings as they were (environment variable names, no secrets),
        # so delivery needs no policy and a later policy change does not reroute it.
        "payload": {
            "channel": channel.model_dump(mode="json", by_alias=True),
            "incident": incident.ref if incident is not None else None,
            "data": data or {},
        },
        "idempotency_key": idempotency_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "person": person,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Notification.idempotency_key])
        .returning(Notification)
    )
    options = {"populate_existing": True}
    row: Notification | None = (await session.scalars(statement, execution_options=options)).first()
    if row is None:
        existing = await session.scalar(
            select(Notification).where(Notification.idempotency_key == idempotency_key)
        )
        assert existing is not None  # the conflicting row is visible to this transaction
        return existing
    await jobs.enqueue(
        session, DELIVER, {"notification": row.id}, clock=clock, dedup_key=job_key(row.id)
    )
    return row


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
