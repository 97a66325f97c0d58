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

Deliveries a worker claimed together go through the three steps together: one claim
transaction (a statement per step for all rows), their sends at the same time, and one
outcome transaction for those that answered within a second (a slower one writes its
own). Under load, batches grow and the database round trips per message shrink.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from markupsafe import escape
from sqlalchemy import Table, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.jobs import service as jobs_service
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
#: How long the outcomes of a batch's sends wait for each other to be written together.
OUTCOME_WAIT = timedelta(seconds=1)
log = logging.getLogger("tocsin.notify")


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
    """Step 1 for one job, in its transaction; returns the send (steps 2 and 3), if due."""
    return await claim_many(session, [job], clock, sender_for)


async def claim_many(
    session: AsyncSession, jobs: Sequence[Job], clock: Clock, sender_for: SenderFor
) -> AfterCommit | None:
    """Step 1 for the jobs a worker claimed together, in their one transaction: the rows
    locked in one statement, their timers set in one; returns the sends (steps 2 and 3)
    of those that are due."""
    rows = await _locked(session, {int(job.payload["notification"]) for job in jobs})
    now = clock.now()
    timers: list[jobs_service.Timer] = []
    due: list[Notification] = []
    for row in rows:
        if await _take(session, row, now, clock, timers):
            due.append(row)
    await session.flush()
    await _set_timers(session, timers, clock)
    sends = [
        _Send(
            row.id,
            row.attempts,
            sender_for(row, clock),
            message_of(row, await thread_for(session, row)),
            (row.channel_key, row.recipient),
            row.channel_kind == "slack",
        )
        for row in due
    ]
    if not sends:
        return None

    async def send(db: Database, clock: Clock) -> None:
        await _send_all(db, clock, sends)

    return send


async def _locked(session: AsyncSession, ids: set[int]) -> Sequence[Notification]:
    """The rows, locked in one statement and in id order (so two workers cannot deadlock)."""
    query = (
        select(Notification)
        .where(Notification.id.in_(sorted(ids)))
        .order_by(Notification.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).all()


async def _take(
    session: AsyncSession,
    row: Notification,
    now: datetime,
    clock: Clock,
    timers: list[jobs_service.Timer],
) -> bool:
    """Decide one locked row: ``True`` when it is to be sent now (it is ``sending``).
    Its timer (recovery, throttle wait) goes into ``timers``."""
    if row.status in FINAL:  # delivered, failed, or bundled by a row before it
        return False
    if row.status == "sending":
        if row.sending_until is not None and row.sending_until > now:
            timers.append(_recovery(row))
            return False
        note = "no outcome: the sender stopped before it knew (worker died?); sending again"
        await _attempt(session, row, "temporary", note, clock)
    if row.person is not None:
        await _lock_contact(session, row)
        rules = await _throttle_of(session, row)
        wait = throttle.free_at(await _sent_at(session, row, now), now, rules)
        if wait is not None:
            row.status = "held"
            row.next_attempt_at = wait
            timers.append(_timer(row, wait))
            await session.flush()
            return False
        await _bundle(session, row, clock)
    row.status = "sending"
    row.attempts += 1
    row.sending_until = now + send_lease(row)
    timers.append(_recovery(row))
    return True


@dataclass(frozen=True)
class _Send:
    """A claimed message, ready to go once the claim has committed."""

    row_id: int
    attempt: int
    channel: Channel
    message: Message
    #: Channel and recipient: messages on one lane go out one after another, in order.
    lane: tuple[str, str]
    slack: bool


@dataclass(frozen=True)
class _Outcome:
    """How one send went."""

    row_id: int
    attempt: int
    reply: str | None = None
    error: DeliveryError | None = None
    thread: dict[str, str] | None = None


async def _send_all(db: Database, clock: Clock, sends: Sequence[_Send]) -> None:
    """Step 2 for every claimed message, then step 3. Lanes (a recipient on a channel)
    are sent at the same time, each lane's messages one after another in the order they
    were written. The outcomes in within :data:`OUTCOME_WAIT` are written together, a
    later lane's when it is done (a slow provider holds back no other outcome for long)."""
    lanes: dict[tuple[str, str], list[_Send]] = {}
    for send in sends:
        lanes.setdefault(send.lane, []).append(send)
    if len(lanes) == 1:
        await _record(db, clock, await _send_lane(sends))
        return
    tasks = [asyncio.ensure_future(_send_lane(lane)) for lane in lanes.values()]
    done, pending = await asyncio.wait(tasks, timeout=OUTCOME_WAIT.total_seconds())
    await _record(db, clock, [o for task in tasks if task in done for o in task.result()])
    for later in asyncio.as_completed(pending):
        await _record(db, clock, await later)


async def _send_lane(lane: Sequence[_Send]) -> list[_Outcome | None]:
    """One recipient's messages on one channel, in order: a receiver sees an incident's
    updates in the order they were written, and a Slack follow-up claimed together with
    the message that starts its incident's thread is posted into that thread."""
    outcomes: list[_Outcome | None] = []
    threads: dict[str | None, dict[str, str]] = {}
    for send in lane:
        message = send.message
        if send.slack and message.thread is None and message.incident in threads:
            message = replace(message, thread=threads[message.incident])
        outcome = await _send_one(send, message)
        if send.slack and outcome is not None and outcome.error is None:
            started = outcome.thread or thread_of(outcome.reply)
            if started is not None:
                threads.setdefault(message.incident, started)
        outcomes.append(outcome)
    return outcomes


async def _send_one(send: _Send, message: Message) -> _Outcome | None:
    """One send; ``None`` if it broke in an unforeseen way (its recovery timer resends)."""
    try:
        reply = await send.channel.send(message)
    except DeliveryError as exc:
        return _Outcome(send.row_id, send.attempt, error=exc)
    except Exception:
        log.exception("notification %s: the send broke; its recovery timer resends", send.row_id)
        return None
    return _Outcome(send.row_id, send.attempt, reply=reply, thread=message.thread)


async def _record(db: Database, clock: Clock, outcomes: Sequence[_Outcome | None]) -> None:
    """Step 3: record how the sends went, in one transaction of their own."""
    known = [outcome for outcome in outcomes if outcome is not None]
    if not known:
        return
    async with db.write() as session:
        rows = {row.id: row for row in await _locked(session, {o.row_id for o in known})}
        now = clock.now()
        attempts: list[dict[str, Any]] = []
        timers: list[jobs_service.Timer] = []
        events: list[dict[str, Any]] = []
        finished: list[Notification] = []
        for outcome in known:
            row = rows[outcome.row_id]
            error = outcome.error
            permanent = isinstance(error, PermanentFailure)
            if error is None:
                attempts.append(_attempt_row(row, "ok", outcome.reply or "", now))
            else:
                kind = "permanent" if permanent else "temporary"
                attempts.append(_attempt_row(row, kind, error.message, now))
            if row.status != "sending" or row.attempts != outcome.attempt:
                continue  # another worker took over after this claim ran out; it decides
            if error is None:
                reply = outcome.reply or ""
                row.provider_reply = reply[-4000:]
                if row.channel_kind == "slack":
                    # The thread this message belongs to (its own ``ts`` when it started
                    # one), so the incident's later messages on this channel reply in it.
                    row.payload = {**row.payload, "thread": outcome.thread or thread_of(reply)}
                row.delivered_at = now
                events += _final(row, "delivered", reply, clock)
                finished.append(row)
                continue
            row.last_error = error.message[-4000:]
            if permanent or row.attempts >= MAX_ATTEMPTS:
                reason = error.message if permanent else f"gave up after {row.attempts} attempts"
                events += _final(row, "failed", reason, clock)
                finished.append(row)
                continue
            row.status = "pending"
            row.sending_until = None
            row.next_attempt_at = now + jobs_service.backoff(row.attempts)
            timers.append(_timer(row, row.next_attempt_at))
        await (await session.connection()).execute(insert(_ATTEMPTS), attempts)
        await session.flush()
        await jobs_service.cancel_many(session, [job_key(r.id) for r in finished], clock=clock)
        await _set_timers(session, timers, clock)
        await timeline.notes(session, events)


def _timer(row: Notification, due: datetime, *, wakes: bool = True) -> jobs_service.Timer:
    """The row's one delivery job, (re)set to ``due``."""
    return jobs_service.Timer({"notification": row.id}, due, job_key(row.id), wakes)


def _recovery(row: Notification) -> jobs_service.Timer:
    """The timer for when the row's send lease runs out. It matters only if the sender
    died, so it wakes nobody: a worker looks at least every ``wake.HORIZON``, and one
    starting looks at once (telling every sleeping loop of every send cost a notice and
    a look that found nothing, per batch)."""
    assert row.sending_until is not None
    return _timer(row, row.sending_until, wakes=False)


async def _set_timers(
    session: AsyncSession, timers: Sequence[jobs_service.Timer], clock: Clock
) -> None:
    await jobs_service.schedule_many(session, DELIVER, timers, clock=clock)


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
    for other in held:  # the same objects a batch holds, so it sees them bundled
        other.status = "bundled"
        other.bundled_into_id = row.id
        other.next_attempt_at = None
    await jobs_service.cancel_many(session, [job_key(other.id) for other in held], clock=clock)
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
    values = _attempt_row(row, outcome, detail, clock.now())
    await (await session.connection()).execute(insert(_ATTEMPTS), values)


def _attempt_row(row: Notification, outcome: str, detail: str, at: datetime) -> dict[str, Any]:
    return {"notification_id": row.id, "at": at, "outcome": outcome, "detail": detail[-4000:]}


def _final(row: Notification, status: str, detail: str, clock: Clock) -> list[dict[str, Any]]:
    """Make ``row`` final; the timeline event that tells so (none without an incident).
    The caller cancels its timer."""
    row.status = status
    row.next_attempt_at = None
    row.sending_until = None
    if row.incident_id is None:
        return []
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
    after = {
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
    }
    entry = timeline.entry(
        ENGINE, row.incident_id, "notification", summary[:2000], clock=clock, after=after
    )
    return [entry]
