"""The outbox end to end: queue in a transaction, deliver with the real job engine to real
local servers (SMTP and HTTP), under a virtual clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from importlib import resources
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import event, func, select
from tests.conftest import apply_policy
from tests.notify.servers import free_port, http_receiver, smtp_server

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.errors import InvalidInput
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.jobs import wake
from tocsin.jobs.listen import asyncpg_dsn
from tocsin.jobs.models import Job
from tocsin.jobs.registry import load_handlers
from tocsin.jobs.worker import run_due
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.policy.schema_notify import EmailChannel, WebhookChannel
from tocsin.simulate.runner import run_until

SECRET = "s3cret-signing-key-do-not-log"


#: A policy that sends nothing by itself (no channels, routes or ladders), so a test sees
#: only the messages it queues.
QUIET_POLICY = Path(str(resources.files("tocsin.policy").joinpath("default.yaml")))


@pytest.fixture
async def engine(ctx: Context) -> Context:
    load_handlers()
    await apply_policy(ctx, QUIET_POLICY)
    return ctx


async def declare(ctx: Context) -> str:
    async with ctx.db.write() as session:
        data = schemas.DeclareIn(title="Checkout down", severity="SEV3")
        return (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref


async def queue(
    ctx: Context,
    channel: EmailChannel | WebhookChannel,
    ref: str | None,
    key: str = "k1",
    html: str | None = None,
) -> int:
    async with ctx.db.write() as session:
        incident = None
        if ref is not None:
            incident = await session.scalar(select(Incident).where(Incident.ref == ref))
        row = await notify.queue(
            session,
            channel=channel,
            recipient="oncall@example.com",
            subject="Incident declared: Checkout down",
            text="Checkout is down.\nWe are on it.",
            html=html,
            incident=incident,
            idempotency_key=key,
            clock=ctx.clock,
        )
        return row.id


async def run_for(ctx: Context, delta: timedelta) -> None:
    assert isinstance(ctx.clock, VirtualClock)
    await run_until(ctx.db, ctx.clock, ctx.clock.now() + delta)


async def row_of(ctx: Context, notification_id: int) -> Notification:
    async with ctx.db.read() as session:
        row = await session.get(Notification, notification_id)
        assert row is not None
        return row


async def notification_events(ctx: Context) -> list[IncidentEvent]:
    async with ctx.db.read() as session:
        query = select(IncidentEvent).where(IncidentEvent.kind == "notification")
        return list((await session.scalars(query.order_by(IncidentEvent.id))).all())


def webhook(url: str) -> WebhookChannel:
    return WebhookChannel(key="ops-hook", type="webhook", url=url, secret_env="TOCSIN_TEST_HOOK")


async def test_email_reaches_a_real_smtp_server(engine: Context) -> None:
    ref = await declare(engine)
    with smtp_server() as (port, inbox):
        channel = EmailChannel.model_validate(
            {
                "key": "mail",
                "type": "email",
                "host": "127.0.0.1",
                "port": port,
                "tls": "none",
                "from": "tocsin@example.com",
            }
        )
        nid = await queue(engine, channel, ref, html="<p>Checkout is <b>down</b>.</p>")
        await run_for(engine, timedelta(minutes=1))
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert inbox.envelopes[0] == ("tocsin@example.com", ["oncall@example.com"])
    assert mail["Subject"] == "Incident declared: Checkout down"
    assert mail["X-Tocsin-Incident"] == ref
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n").strip() == "Checkout is down.\nWe are on it."
    assert "<b>down</b>" in html.get_content()
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 1)
    assert row.provider_reply and "250" in row.provider_reply
    [event] = await notification_events(engine)
    assert event.actor == "engine"
    assert event.data["after"]["notification"]["status"] == "delivered"


async def test_webhook_fails_three_times_then_arrives_once_signed(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_HOOK", SECRET)
    ref = await declare(engine)
    with http_receiver(503, 503, 503, 200) as receiver:
        nid = await queue(engine, webhook(receiver.url), ref)
        await run_for(engine, timedelta(minutes=30))
    assert len(receiver.requests) == 4
    statuses_seen = receiver.script[: len(receiver.requests)]
    assert statuses_seen.count(200) == 1  # received (and accepted) exactly once
    for request in receiver.requests:
        stamp = request.headers["x-tocsin-timestamp"]
        expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256)
        assert request.headers["x-tocsin-signature"] == f"sha256={expected.hexdigest()}"
        assert request.headers["x-tocsin-idempotency-key"] == "k1"
    body = json.loads(receiver.requests[-1].body)
    assert body["subject"] == "Incident declared: Checkout down"
    assert body["incident"] == ref
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 4)
    async with engine.db.read() as session:
        outcomes = [a.outcome for a in await notify.attempts_of(session, nid)]
        times = [a.at for a in await notify.attempts_of(session, nid)]
    assert outcomes == ["temporary", "temporary", "temporary", "ok"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= timedelta(seconds=5) for gap in gaps)  # backoff, not a busy loop
    assert gaps[2] > gaps[0]  # exponential
    [event] = await notification_events(engine)
    assert "Delivered webhook" in event.summary
    # The signing secret is nowhere: not on the row, not on the timeline.
    everything = json.dumps(
        [row.payload, row.provider_reply, row.last_error, event.summary, event.data]
    )
    assert SECRET not in everything


async def test_a_400_stops_at_once_and_shows_on_the_timeline(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_HOOK", SECRET)
    ref = await declare(engine)
    with http_receiver(400) as receiver:
        nid = await queue(engine, webhook(receiver.url), ref)
        await run_for(engine, timedelta(hours=2))
    assert len(receiver.requests) == 1
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error and "400" in row.last_error
    async with engine.db.read() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "notify.deliver", Job.status == "pending")
        )
    assert pending == 0
    [event] = await notification_events(engine)
    assert event.summary.startswith("Failed to deliver webhook")
    assert event.data["after"]["notification"]["status"] == "failed"


async def test_a_missing_secret_is_a_permanent_failure(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_TEST_HOOK", raising=False)
    with http_receiver(200) as receiver:
        nid = await queue(engine, webhook(receiver.url), None)
        await run_for(engine, timedelta(minutes=5))
    assert receiver.requests == []
    row = await row_of(engine, nid)
    assert row.status == "failed"
    assert row.last_error == "environment variable TOCSIN_TEST_HOOK is not set"


async def test_one_idempotency_key_delivers_once(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_HOOK", SECRET)
    ref = await declare(engine)
    with http_receiver(200) as receiver:
        first = await queue(engine, webhook(receiver.url), ref, key="declared:1")
        second = await queue(engine, webhook(receiver.url), ref, key="declared:1")
        await run_for(engine, timedelta(minutes=5))
        third = await queue(engine, webhook(receiver.url), ref, key="declared:1")
        await run_for(engine, timedelta(minutes=5))
    assert first == second == third
    assert len(receiver.requests) == 1
    async with engine.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(Notification))
        jobs = await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "notify.deliver", Job.status != "cancelled")
        )
    # One message and one delivery run (the recovery timer set while sending was cancelled).
    assert (count, jobs) == (1, 1)


async def test_messages_of_one_cause_are_queued_in_two_statements(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows and their delivery jobs each in one INSERT, however many; a batch queued again
    (a retried cause) returns the same rows in order and writes nothing; all delivered once."""
    monkeypatch.setenv("TOCSIN_TEST_HOOK", SECRET)
    ref = await declare(engine)
    with http_receiver(200) as receiver:
        channel = webhook(receiver.url)
        batch = [
            notify.Outgoing(channel, f"r{n}@example.com", "Declared", "Text", f"batch:{n}")
            for n in range(5)
        ]
        statements: list[str] = []

        def seen(_conn: object, _cursor: object, sql: str, *_: object) -> None:
            statements.append(sql.split()[0].upper())

        async with engine.db.write() as session:
            incident = await session.scalar(select(Incident).where(Incident.ref == ref))
            sync_engine = (await session.connection()).engine.sync_engine
            event.listen(sync_engine, "before_cursor_execute", seen)
            try:
                rows = await notify.queue_many(
                    session, batch, incident=incident, clock=engine.clock
                )
            finally:
                event.remove(sync_engine, "before_cursor_execute", seen)
        assert [r.recipient for r in rows] == [f"r{n}@example.com" for n in range(5)]
        assert statements.count("INSERT") == 2, statements
        async with engine.db.write() as session:
            again = await notify.queue_many(
                session, batch[::-1], incident=incident, clock=engine.clock
            )
        assert [r.id for r in again] == [r.id for r in rows][::-1]
        await run_for(engine, timedelta(minutes=5))
    assert sorted(json.loads(r.body)["recipient"] for r in receiver.requests) == sorted(
        f"r{n}@example.com" for n in range(5)
    )


async def test_deliveries_claimed_together_cost_the_same_statements_for_two_as_for_eight(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that claims several deliveries locks, times, records and reports them with
    one statement per step for all of them: the database round trips per message shrink
    as batches grow. Each is delivered once and is on the timeline."""
    monkeypatch.setenv("TOCSIN_TEST_HOOK", SECRET)
    ref = await declare(engine)
    counts = []
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    sync_engine = engine.db.write_engine.sync_engine
    with http_receiver(200) as receiver:
        channel = webhook(receiver.url)
        for size in (2, 8):
            batch = [
                notify.Outgoing(channel, f"r{n}@example.com", "Declared", "T", f"b{size}:{n}")
                for n in range(size)
            ]
            async with engine.db.write() as session:
                incident = await session.scalar(select(Incident).where(Incident.ref == ref))
                await notify.queue_many(session, batch, incident=incident, clock=engine.clock)
            statements.clear()
            event.listen(sync_engine, "before_cursor_execute", seen)
            try:
                assert await run_due(engine.db, engine.clock, "w1", limit=size) == size
            finally:
                event.remove(sync_engine, "before_cursor_execute", seen)
            counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert len(receiver.requests) == 10
    async with engine.db.read() as session:
        statuses = (await session.scalars(select(Notification.status))).all()
        events = await session.scalar(
            select(func.count())
            .select_from(IncidentEvent)
            .where(IncidentEvent.kind == "notification")
        )
    assert set(statuses) == {"delivered"} and len(statuses) == 10
    assert events == 10


@contextlib.asynccontextmanager
async def wake_ups(ctx: Context) -> AsyncIterator[list[str]]:
    """What sleeping workers are told while the block runs: PostgreSQL's notices on the
    jobs channel, or SQLite's in-process wake-ups (``wake``: one ``""`` per wake-up)."""
    heard: list[str] = []
    if ctx.db.dialect == "postgresql":
        connection = await asyncpg.connect(asyncpg_dsn(ctx.db.url))
        await connection.add_listener(wake.CHANNEL, lambda *args: heard.append(args[3]))
        try:
            yield heard
            await asyncio.sleep(0.2)  # notices arrive after their commit
        finally:
            await connection.close()
        return
    woken = asyncio.Event()
    unsubscribe = wake.subscribe(ctx.db.url, woken)
    try:
        yield heard
        await asyncio.sleep(0)  # the wake-up is a call_soon_threadsafe
        if woken.is_set():
            heard.append("")
    finally:
        unsubscribe()


async def test_a_send_wakes_no_sleeping_worker_but_a_retry_does(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send's recovery timer matters only if its sender dies, and workers look at least
    every minute: telling the sleeping ones cost a notice and an empty look per batch.
    A retry's timer is told, so that the retry goes out on time."""
    monkeypatch.setenv("TOCSIN_TEST_HOOK", SECRET)
    ref = await declare(engine)
    with http_receiver(200, 500, 200) as receiver:
        channel = webhook(receiver.url)
        await queue(engine, channel, ref, key="sent")
        async with wake_ups(engine) as heard:
            assert await run_due(engine.db, engine.clock, "w1") == 1
        assert heard == []
        await queue(engine, channel, ref, key="retried")
        async with wake_ups(engine) as heard:
            assert await run_due(engine.db, engine.clock, "w1") == 1
        assert len(heard) == 1
    assert len(receiver.requests) == 2  # sent once; the other failed once, to be retried


async def test_queue_refuses_an_empty_key(engine: Context) -> None:
    with pytest.raises(InvalidInput):
        await queue(engine, webhook("http://127.0.0.1:9/hook"), None, key="")


def mail_channel(port: int, **extra: str) -> EmailChannel:
    settings = {"key": "mail", "type": "email", "host": "127.0.0.1", "port": port, "tls": "none"}
    return EmailChannel.model_validate({**settings, "from": "tocsin@example.com", **extra})


# The test server has no certificate, so AUTH travels over plain TCP here.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_login_with_the_password_from_the_environment(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SMTP_PASSWORD", SECRET)
    with smtp_server(login=("tocsin", SECRET)) as (port, inbox):
        channel = mail_channel(port, username="tocsin", password_env="TOCSIN_TEST_SMTP_PASSWORD")
        nid = await queue(engine, channel, None)
        await run_for(engine, timedelta(minutes=1))
    assert inbox.logins == [(b"tocsin", SECRET.encode())]
    assert len(inbox.messages) == 1
    row = await row_of(engine, nid)
    assert row.status == "delivered"
    assert SECRET not in json.dumps([row.payload, row.provider_reply, row.last_error])


async def test_smtp_4xx_is_retried_and_5xx_is_final(engine: Context) -> None:
    with smtp_server("451 4.3.0 try later", "250 ok", "550 5.1.1 no such user") as (port, inbox):
        first = await queue(engine, mail_channel(port), None, key="a")
        await run_for(engine, timedelta(minutes=5))
        second = await queue(engine, mail_channel(port), None, key="b")
        await run_for(engine, timedelta(minutes=5))
    assert len(inbox.messages) == 1
    delivered, failed = await row_of(engine, first), await row_of(engine, second)
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "SMTP 550 5.1.1 no such user"


async def test_an_unreachable_server_is_retried_then_given_up(engine: Context) -> None:
    nid = await queue(engine, mail_channel(free_port()), None)
    await run_for(engine, timedelta(days=1))
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", notify.MAX_ATTEMPTS)
    async with engine.db.read() as session:
        outcomes = [a.outcome for a in await notify.attempts_of(session, nid)]
    assert outcomes == ["temporary"] * notify.MAX_ATTEMPTS
