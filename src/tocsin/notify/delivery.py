"""Delivering one outbox row, in three steps, so no transaction is open during a send.

1. **Claim** (the ``notify.deliver`` job's transaction): lock the row; a message to a
   person's contact method waits out the throttle (``held``) or takes along everything
   held for that contact method (``bundled`` into it); then the row is ``sending`` until
   ``sending_until``, and a recovery timer (the same job key) is set for that moment.
2. **Send**, after that commit, with no transaction open: a slow provider blocks nobody.
3. **Outcome** (a new transaction): the attempt is recorded; delivered and failed are
   final and go on the incident's timeline; a temporary failure is retried later with
   backoff and jitter (the timer moves).

A worker that dies between 1 and 3 leaves the row ``sending``; at ``sending_until`` the
recovery timer finds it so and sends again with the same idempotency key (the
``X-Tocsin-Idempotency-Key`` header, for receivers that drop repeats): at least once,
never silently lost, and never twice on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from markupsafe import escape
from sqlalchemy import Table, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import note
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.jobs.registry import AfterCommit
from tocsin.notify import throttle
from tocsin.notify.channels import Channel, DeliveryError, Message, PermanentFailure
from tocsin.notify.channels.slack import thread_of
from tocsin.notify.models import Notification, NotificationAttempt
from tocsin.notify.service import DELIVER, MAX_ATTEMPTS, job_key
from tocsin.policy import service as policies
from tocsin.policy.schema_comms import Throttle

SenderFor = Callable[[Notification, Clock], Channel]
#: Attempts are written with Core (one per send): a fraction of the ORM's CPU.
_ATTEMPTS = cast(Table, NotificationAttempt.__table__)
FINAL = ("delivered", "failed", "bundled")
#: Added to twice a channel's timeout: how long a claim to send lasts.
SEND_GRACE = timedelta(seconds=5)


def send_lease(row: Notification) -> timedelta:
    """How long a send may take before another worker may assume its sender died."""
    timeout = float(row.payload["channel"].get("timeout", 30.0))
    return timedelta(seconds=2 * timeout) + SEND_GRACE


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


async def claim(
    session: AsyncSession, job: Job, clock: Clock, sender_for: SenderFor
) -> AfterCommit | None:
    """Step 1, in the job's transaction; returns the send (steps 2 and 3), if one is due."""
    row = await session.get(
        Notification, job.payload["notification"], with_for_update=True, populate_existing=True
    )
    if row is None or row.status in FINAL:
        return None
    now = clock.now()
    if row.status == "sending":
        if row.sending_until is not None and row.sending_until > now:
            await _timer(session, row, row.sending_until, clock)
            return None
        note = "no outcome: the sender stopped before it knew (worker died?); sending again"
        await _attempt(session, row, "temporary", note, clock)
    if row.person is not None:
        await _lock_contact(session, row)
        rules = await _throttle_of(session, row)
        wait = throttle.free_at(await _sent_at(session, row, now), now, rules)
        if wait is not None:
            row.status = "held"
            row.next_attempt_at = wait
            await session.flush()
            await _timer(session, row, wait, clock)
            return None
        await _bundle(session, row, clock)
    row.status = "sending"
    row.attempts += 1
    row.sending_until = now + send_lease(row)
    await session.flush()
    await _timer(session, row, row.sending_until, clock)
    message = message_of(row, await thread_for(session, row))
    row_id, attempt = row.id, row.attempts

    async def send(db: Database, clock: Clock) -> None:
        try:
            reply = await sender_for(row, clock).send(message)
        except DeliveryError as exc:
            await _outcome(db, clock, row_id, attempt, error=exc)
        else:
            await _outcome(db, clock, row_id, attempt, reply=reply, thread=message.thread)

    return send


async def _outcome(
    db: Database,
    clock: Clock,
    row_id: int,
    attempt: int,
    *,
    reply: str | None = None,
    error: DeliveryError | None = None,
    thread: dict[str, str] | None = None,
) -> None:
    """Step 3: record how the send went, in a transaction of its own."""
    async with db.write() as session:
        row = await session.get(Notification, row_id, with_for_update=True, populate_existing=True)
        assert row is not None
        permanent = isinstance(error, PermanentFailure)
        if error is not None:
            outcome = "permanent" if permanent else "temporary"
            await _attempt(session, row, outcome, error.message, clock)
        else:
            await _attempt(session, row, "ok", reply or "", clock)
        if row.status != "sending" or row.attempts != attempt:
            return  # another worker took over after this claim ran out; it decides
        if error is None:
            row.provider_reply = (reply or "")[-4000:]
            if row.channel_kind == "slack":
                # The thread this message belongs to (its own ``ts`` when it started one),
                # so the incident's later messages on this channel can reply in it.
                row.payload = {**row.payload, "thread": thread or thread_of(reply)}
            row.delivered_at = clock.now()
            await _final(session, row, "delivered", reply or "", clock)
            return
        row.last_error = error.message[-4000:]
        if permanent or row.attempts >= MAX_ATTEMPTS:
            reason = error.message if permanent else f"gave up after {row.attempts} attempts"
            await _final(session, row, "failed", reason, clock)
            return
        row.status = "pending"
        row.sending_until = None
        row.next_attempt_at = clock.now() + jobs.backoff(row.attempts)
        await session.flush()
        await _timer(session, row, row.next_attempt_at, clock)


async def _timer(session: AsyncSession, row: Notification, due: datetime, clock: Clock) -> None:
    """The row's one delivery job, (re)set to ``due``."""
    payload = {"notification": row.id}
    await jobs.schedule(
        session, DELIVER, payload, clock=clock, due_at=due, dedup_key=job_key(row.id)
    )


async def _lock_contact(session: AsyncSession, row: Notification) -> None:
    """Serialise throttle decisions per contact method across workers (PostgreSQL; on
    SQLite the write transaction already is exclusive)."""
    if session.get_bind().dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(hashtext(:channel), hashtext(:recipient))")
        await session.execute(lock, {"channel": row.channel_key, "recipient": row.recipient})


async def _throttle_of(session: AsyncSession, row: Notification) -> Throttle:
    if row.incident_id is None:
        return Throttle()
    incident = await session.get(Incident, row.incident_id)
    if incident is None:
        return Throttle()
    version = await policies.get_version(session, incident.policy_version_id)
    return policies.policy_of(version).notifications.throttle


async def _sent_at(session: AsyncSession, row: Notification, now: datetime) -> list[datetime]:
    """When this contact method was last messaged: delivered in the last hour, or being
    sent right now (which counts as now)."""
    query = select(Notification.delivered_at, Notification.status).where(
        Notification.channel_key == row.channel_key,
        Notification.recipient == row.recipient,
        Notification.person.is_not(None),
        Notification.id != row.id,
        or_(
            Notification.delivered_at > now - throttle.HORIZON,
            Notification.status == "sending",
        ),
    )
    return [now if at is None else at for at, _status in (await session.execute(query)).all()]


async def _bundle(session: AsyncSession, row: Notification, clock: Clock) -> None:
    """Take every other message held for this contact method along in ``row``."""
    held = (
        await session.scalars(
            select(Notification)
            .where(
                Notification.channel_key == row.channel_key,
                Notification.recipient == row.recipient,
                Notification.status == "held",
                Notification.id != row.id,
            )
            .order_by(Notification.created_at, Notification.id)
            .with_for_update()
        )
    ).all()
    if not held:
        return
    ids = [h.id for h in held]
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(status="bundled", bundled_into_id=row.id, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    for other in held:
        await jobs.cancel(session, job_key(other.id), clock=clock)
    locale = await _locale_of(session, row)
    note = throttle.bundle_note([h.subject or h.body_text[:80] for h in held], locale)
    row.body_text = f"{row.body_text.rstrip()}\n\n{note}\n"
    if row.body_html is not None:
        row.body_html = f"{row.body_html}<p>{escape(note)}</p>"
    row.payload = {**row.payload, "bundled": len(held)}
    await session.flush()


async def _locale_of(session: AsyncSession, row: Notification) -> str:
    if row.incident_id is None:
        return "en"
    incident = await session.get(Incident, row.incident_id)
    if incident is None:
        return "en"
    version = await policies.get_version(session, incident.policy_version_id)
    return policies.policy_of(version).organization.locale


async def _attempt(
    session: AsyncSession, row: Notification, outcome: str, detail: str, clock: Clock
) -> None:
    values = {"notification_id": row.id, "at": clock.now(), "outcome": outcome}
    await (await session.connection()).execute(
        insert(_ATTEMPTS), {**values, "detail": detail[-4000:]}
    )


async def _final(
    session: AsyncSession, row: Notification, status: str, detail: str, clock: Clock
) -> None:
    row.status = status
    row.next_attempt_at = None
    row.sending_until = None
    await session.flush()
    await jobs.cancel(session, job_key(row.id), clock=clock)
    if row.incident_id is None:
        return
    verb = "Delivered" if status == "delivered" else "Failed to deliver"
    summary = (
        f"{verb} {row.channel_kind} {row.subject!r} to {row.recipient} via {row.channel_key}"
        f" ({row.attempts} attempt{'s' if row.attempts != 1 else ''})"
    )
    bundled = row.payload.get("bundled")
    if bundled:
        summary += f", with {bundled} held-back message(s) bundled in"
    if status == "failed":
        summary += f": {detail}"
    await note(
        session,
        ENGINE,
        row.incident_id,
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
                "bundled": bundled or 0,
                "detail": detail[:500],
            }
        },
    )
