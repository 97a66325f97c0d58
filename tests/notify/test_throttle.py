"""Throttling per contact method: a flapping source cannot flood a phone, and nothing held
back is dropped: it goes out bundled, with a count, in the next message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from tests.notify.servers import json_receiver
from tests.notify.test_delivery import declare, engine, run_for  # noqa: F401
from tests.notify.test_slack_teams_sms import sms

from tocsin.context import Context
from tocsin.incidents.models import Incident
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.notify.throttle import bundle_note, free_at
from tocsin.policy.schema_comms import Throttle

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_one_a_minute() -> None:
    rules = Throttle(per_minute=1, per_15_minutes=0, per_hour=0)
    assert free_at([], T0, rules) is None
    assert free_at([at(0)], at(30), rules) == at(60)
    assert free_at([at(0)], at(60), rules) is None


def test_the_longest_full_window_decides() -> None:
    rules = Throttle(per_minute=1, per_15_minutes=3, per_hour=10)
    sent = [at(0), at(60), at(120)]
    # the minute has room at 180 s, the quarter hour only when the first leaves it
    assert free_at(sent, at(180), rules) == at(15 * 60)
    assert free_at(sent, at(15 * 60 + 1), rules) is None


def test_a_zero_limit_is_no_limit() -> None:
    rules = Throttle(per_minute=0, per_15_minutes=0, per_hour=0)
    assert free_at([at(0)] * 50, at(1), rules) is None


def test_the_bundle_note_counts_and_lists() -> None:
    note = bundle_note([f"page {n}" for n in range(7)], "en")
    assert note.startswith("7 more message(s)")
    assert "page 0; page 1; page 2; page 3; page 4; …" in note
    assert bundle_note(["a"], "nl").startswith("1 andere bericht(en)")


@pytest.fixture
def twilio_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", "twilio-secret")


async def test_a_hundred_pages_in_a_minute_reach_the_phone_once_then_as_one_bundle(
    engine: Context,  # noqa: F811
    twilio_token: None,
) -> None:
    ref = await declare(engine)
    created = {"sid": "SM1", "status": "queued"}
    with json_receiver((201, created)) as receiver:
        channel = sms(receiver.base)
        for n in range(100):
            async with engine.db.write() as session:
                incident = await session.scalar(select(Incident).where(Incident.ref == ref))
                await notify.queue(
                    session,
                    channel=channel,
                    recipient="+31612345678",
                    subject=f"Page {n}",
                    text=f"Page {n}: checkout down",
                    incident=incident,
                    idempotency_key=f"page:{n}",
                    clock=engine.clock,
                    person="dana",
                )
            await run_for(engine, timedelta(milliseconds=590))
        # The first minute: the policy keeps the default of one a minute.
        assert len(receiver.requests) == 1
        await run_for(engine, timedelta(minutes=2))
        bodies = [parse_qs(r.body.decode())["Body"][0] for r in receiver.requests]
    assert len(bodies) == 2
    assert bodies[0].startswith("Page 0\nPage 0: checkout down")
    assert bodies[1].startswith("Page 1\nPage 1: checkout down")
    assert (
        "98 more message(s) to you were held back by the rate limit: Page 2; Page 3" in (bodies[1])
    )
    async with engine.db.read() as session:
        rows = list((await session.scalars(select(Notification).order_by(Notification.id))).all())
    statuses = [r.status for r in rows]
    assert statuses.count("delivered") == 2 and statuses.count("bundled") == 98
    assert {r.bundled_into_id for r in rows if r.status == "bundled"} == {rows[1].id}


async def test_messages_to_channels_are_not_throttled(
    engine: Context,  # noqa: F811
    twilio_token: None,
) -> None:
    """Only a person's contact methods are limited; e.g. an on-call list address is not."""
    ref = await declare(engine)
    with json_receiver((201, {"sid": "SM1", "status": "queued"})) as receiver:
        async with engine.db.write() as session:
            incident = await session.scalar(select(Incident).where(Incident.ref == ref))
            for n in range(5):
                await notify.queue(
                    session,
                    channel=sms(receiver.base),
                    recipient="+31612345678",
                    subject=f"Notice {n}",
                    text=f"Notice {n}",
                    incident=incident,
                    idempotency_key=f"notice:{n}",
                    clock=engine.clock,
                )
        await run_for(engine, timedelta(seconds=5))
    assert len(receiver.requests) == 5
