"""The ``notify.deliver`` job: send one outbox row through its channel, record the attempt.

The handler runs in the job's transaction (see ``jobs/worker.py``). It never raises for a
delivery failure, because raising would roll back the attempt it records; instead:

- success: the row is ``delivered`` with the provider's reply;
- temporary failure: the attempt is recorded, the row goes back to ``pending`` with
  ``next_attempt_at`` after an exponential backoff with jitter (``jobs.service.backoff``),
  and the handler schedules a new ``notify.deliver`` job for then (the running job is
  already done, so its de-duplication key is free); after :data:`MAX_ATTEMPTS` the row
  is ``failed``;
- permanent failure: the row is ``failed`` at once.

Delivered and failed are final: each writes a ``notification`` event on the incident's
timeline (actor ENGINE; channel, recipient and outcome, never a secret). A job for a row
already final does nothing. A worker that dies mid-send leaves no trace in the database,
so the message is sent again once the lease runs out: delivery is at least once, and
each message carries its idempotency key (``X-Tocsin-Idempotency-Key``) so receivers can
drop the repeat.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.notify.channels import Channel, DeliveryError, Message, PermanentFailure, spec_from_dict
from tocsin.notify.channels.email import EmailSender
from tocsin.notify.channels.slack import SlackSender, thread_of
from tocsin.notify.channels.sms import SmsSender
from tocsin.notify.channels.teams import TeamsSender
from tocsin.notify.channels.webhook import WebhookSender
from tocsin.notify.models import Notification, NotificationAttempt
from tocsin.notify.service import DELIVER, MAX_ATTEMPTS, job_key


def channel_for(row: Notification, clock: Clock) -> Channel:
    spec = spec_from_dict(row.payload["channel"])
    match spec.type:
        case "email":
            return EmailSender(spec, clock=clock)
        case "webhook":
            return WebhookSender(spec, clock=clock)
        case "slack":
            return SlackSender(spec)
        case "teams":
            return TeamsSender(spec)
        case "sms":
            return SmsSender(spec)
        case _:
            raise PermanentFailure(f"channel type {spec.type!r} cannot send yet")


async def thread_for(session: AsyncSession, row: Notification) -> dict[str, str] | None:
    """For Slack: the thread of the incident's first delivered message on this channel."""
    if row.channel_kind != "slack" or row.incident_id is None:
        return None
    query = (
        select(Notification)
        .where(
            Notification.incident_id == row.incident_id,
            Notification.channel_key == row.channel_key,
            Notification.channel_kind == "slack",
            Notification.status == "delivered",
            Notification.id != row.id,
        )
        .order_by(Notification.delivered_at, Notification.id)
    )
    for earlier in (await session.scalars(query)).all():
        thread = earlier.payload.get("thread") or thread_of(earlier.provider_reply)
        if isinstance(thread, dict):
            return {"channel": str(thread["channel"]), "ts": str(thread["ts"])}
    return None


def message_of(row: Notification, thread: dict[str, str] | None = None) -> Message:
    return Message(
        id=row.id,
        idempotency_key=row.idempotency_key,
        recipient=row.recipient,
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        incident=row.payload.get("incident"),
        data=row.payload.get("data") or {},
        thread=thread,
    )


@handler(DELIVER)
async def deliver(session: AsyncSession, job: Job, clock: Clock) -> None:
    row = await session.get(
        Notification, job.payload["notification"], with_for_update=True, populate_existing=True
    )
    if row is None or row.status in ("delivered", "failed"):
        return
    row.status = "sending"
    row.attempts += 1
    await session.flush()
    thread = await thread_for(session, row)
    try:
        reply = await channel_for(row, clock).send(message_of(row, thread))
    except DeliveryError as exc:
        permanent = isinstance(exc, PermanentFailure)
        await _attempt(session, row, "permanent" if permanent else "temporary", exc.message, clock)
        row.last_error = exc.message[-4000:]
        if permanent or row.attempts >= MAX_ATTEMPTS:
            reason = exc.message if permanent else f"gave up after {row.attempts} attempts"
            await _final(session, row, "failed", reason, clock)
            return
        row.status = "pending"
        row.next_attempt_at = clock.now() + jobs.backoff(row.attempts)
        await session.flush()
        await jobs.enqueue(
            session,
            DELIVER,
            {"notification": row.id},
            clock=clock,
            due_at=row.next_attempt_at,
            dedup_key=job_key(row.id),
        )
        return
    await _attempt(session, row, "ok", reply, clock)
    row.provider_reply = reply[-4000:]
    if row.channel_kind == "slack":
        # The thread this message belongs to (its own ``ts`` when it started one), so the
        # incident's later messages on this channel can reply in it.
        started = thread_of(reply)
        row.payload = {**row.payload, "thread": thread or started}
    row.delivered_at = clock.now()
    await _final(session, row, "delivered", reply, clock)


async def _attempt(
    session: AsyncSession, row: Notification, outcome: str, detail: str, clock: Clock
) -> None:
    session.add(
        NotificationAttempt(
            notification_id=row.id, at=clock.now(), outcome=outcome, detail=detail[-4000:]
        )
    )
    await session.flush()


async def _final(
    session: AsyncSession, row: Notification, status: str, detail: str, clock: Clock
) -> None:
    row.status = status
    row.next_attempt_at = None
    await session.flush()
    if row.incident_id is None:
        return
    incident = await session.get(Incident, row.incident_id)
    if incident is None:
        return
    verb = "Delivered" if status == "delivered" else "Failed to deliver"
    summary = (
        f"{verb} {row.channel_kind} {row.subject!r} to {row.recipient} via {row.channel_key}"
        f" ({row.attempts} attempt{'s' if row.attempts != 1 else ''})"
    )
    if status == "failed":
        summary += f": {detail}"
    await log(
        session,
        ENGINE,
        incident,
        "notification",
        summary[:2000],
        clock=clock,
        after={
            "notification": {
                "id": row.id,
                "channel": row.channel_key,
                "kind": row.channel_kind,
                "recipient": row.recipient,
                "subject": row.subject,
                "status": status,
                "attempts": row.attempts,
                "detail": detail[:500],
            }
        },
        audited=False,
    )
