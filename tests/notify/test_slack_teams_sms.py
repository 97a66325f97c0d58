"""Slack, Teams and SMS end to end: queued in a transaction, delivered by the real job
engine through the real clients (``slack_sdk``, httpx) to local receivers that speak each
provider's shape, under a virtual clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from tests.notify.servers import Received, json_receiver
from tests.notify.test_delivery import declare, engine, notification_events, queue, row_of, run_for

from tocsin.context import Context
from tocsin.jobs.worker import run_due
from tocsin.notify import service as notify
from tocsin.policy.schema_notify import SlackChannel, SmsChannel, TeamsChannel

__all__ = ["engine"]  # the fixture, shared with the e-mail and webhook tests

TOKEN = "xoxb-test-token-do-not-log"
AUTH_TOKEN = "twilio-auth-token-do-not-log"


def slack(base: str) -> SlackChannel:
    return SlackChannel.model_validate(
        {
            "key": "slack-incidents",
            "type": "slack",
            "token_env": "TOCSIN_TEST_SLACK_TOKEN",
            "channel": "#incidents",
            "base_url": f"{base}/api/",
        }
    )


def posted(request: Received, index: int) -> dict[str, Any]:
    """What Slack answers a successful chat.postMessage: the channel's ID and a new ts."""
    return {"ok": True, "channel": "C0INCIDENTS", "ts": f"1700000000.00010{index}"}


def sent(request: Received) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(request.body)
    return document


async def test_a_follow_up_claimed_with_the_opening_message_joins_its_thread(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both written before a worker looks, so one batch claims them: they go out one after
    the other, and the follow-up is posted into the thread the first one started."""
    monkeypatch.setenv("TOCSIN_TEST_SLACK_TOKEN", TOKEN)
    ref = await declare(engine)
    with json_receiver((200, None), reply=posted) as receiver:
        first = await queue(engine, slack(receiver.base), ref, key="declared")
        second = await queue(engine, slack(receiver.base), ref, key="update-1")
        assert await run_due(engine.db, engine.clock, "w1", limit=2) == 2
    opening, follow_up = (sent(r) for r in receiver.requests)
    assert "thread_ts" not in opening
    assert follow_up["thread_ts"] == "1700000000.000100"
    rows = [await row_of(engine, nid) for nid in (first, second)]
    assert [row.status for row in rows] == ["delivered"] * 2
    assert rows[1].payload["thread"] == {"channel": "C0INCIDENTS", "ts": "1700000000.000100"}


async def test_slack_follow_ups_go_into_the_thread_of_the_first_message(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SLACK_TOKEN", TOKEN)
    ref = await declare(engine)
    with json_receiver((200, None), reply=posted) as receiver:
        first = await queue(engine, slack(receiver.base), ref, key="declared")
        await run_for(engine, timedelta(minutes=1))
        second = await queue(engine, slack(receiver.base), ref, key="update-1")
        await run_for(engine, timedelta(minutes=1))
        other = await queue(engine, slack(receiver.base), None, key="no-incident")
        await run_for(engine, timedelta(minutes=1))
    assert [r.path for r in receiver.requests] == ["/api/chat.postMessage"] * 3
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in receiver.requests)
    opening, follow_up, unrelated = (sent(r) for r in receiver.requests)
    assert opening["channel"] == "#incidents" and "thread_ts" not in opening
    assert "Incident declared: Checkout down" in opening["text"]
    assert follow_up["thread_ts"] == "1700000000.000100"
    assert follow_up["channel"] == "C0INCIDENTS"
    assert "thread_ts" not in unrelated
    rows = [await row_of(engine, nid) for nid in (first, second, other)]
    assert [row.status for row in rows] == ["delivered"] * 3
    assert json.loads(rows[0].provider_reply or "")["ts"] == "1700000000.000100"
    assert rows[1].payload["thread"] == {"channel": "C0INCIDENTS", "ts": "1700000000.000100"}
    events = await notification_events(engine)
    everything = json.dumps(
        [[r.payload, r.provider_reply, r.last_error] for r in rows]
        + [[e.summary, e.data] for e in events]
    )
    assert TOKEN not in everything


async def test_slack_ratelimited_is_retried_and_delivered_once(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SLACK_TOKEN", TOKEN)
    script = ((200, {"ok": False, "error": "ratelimited"}), (200, None))
    with json_receiver(*script, reply=posted) as receiver:
        nid = await queue(engine, slack(receiver.base), None)
        await run_for(engine, timedelta(minutes=5))
    assert len(receiver.requests) == 2
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 2)
    async with engine.db.read() as session:
        attempts = await notify.attempts_of(session, nid)
    assert [a.outcome for a in attempts] == ["temporary", "ok"]
    assert "ratelimited" in attempts[0].detail


async def test_slack_channel_not_found_fails_at_once(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SLACK_TOKEN", TOKEN)
    ref = await declare(engine)
    with json_receiver((200, {"ok": False, "error": "channel_not_found"})) as receiver:
        nid = await queue(engine, slack(receiver.base), ref)
        await run_for(engine, timedelta(hours=1))
    assert len(receiver.requests) == 1
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "Slack HTTP 200 channel_not_found"
    [event] = await notification_events(engine)
    assert event.summary.startswith("Failed to deliver slack")


async def test_slack_without_its_token_fails_without_calling(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_TEST_SLACK_TOKEN", raising=False)
    with json_receiver() as receiver:
        nid = await queue(engine, slack(receiver.base), None)
        await run_for(engine, timedelta(minutes=1))
    assert receiver.requests == []
    row = await row_of(engine, nid)
    assert row.last_error == "environment variable TOCSIN_TEST_SLACK_TOKEN is not set"


def teams() -> TeamsChannel:
    return TeamsChannel(key="teams-ops", type="teams", url_env="TOCSIN_TEST_TEAMS_URL")


async def test_teams_gets_a_message_card(engine: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = await declare(engine)
    with json_receiver((503, {}), (200, 1)) as receiver:
        secret_url = f"{receiver.base}/webhookb2/secret-part"
        monkeypatch.setenv("TOCSIN_TEST_TEAMS_URL", secret_url)
        nid = await queue(engine, teams(), ref)
        await run_for(engine, timedelta(minutes=5))
    assert len(receiver.requests) == 2
    card = sent(receiver.requests[-1])
    assert receiver.requests[-1].path == "/webhookb2/secret-part"
    assert card["@type"] == "MessageCard"
    assert card["title"] == "Incident declared: Checkout down"
    assert card["text"] == "Checkout is down.\nWe are on it."
    assert card["sections"][0]["facts"] == [{"name": "Incident", "value": ref}]
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert "secret-part" not in json.dumps([row.payload, row.provider_reply, row.last_error])


async def test_teams_400_is_final(engine: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    with json_receiver((400, {"error": "bad card"})) as receiver:
        monkeypatch.setenv("TOCSIN_TEST_TEAMS_URL", f"{receiver.base}/hook")
        nid = await queue(engine, teams(), None)
        await run_for(engine, timedelta(hours=1))
    assert len(receiver.requests) == 1
    assert (await row_of(engine, nid)).status == "failed"


def sms(base: str) -> SmsChannel:
    return SmsChannel.model_validate(
        {
            "key": "sms",
            "type": "sms",
            "base_url": base,
            "account_sid": "AC123",
            "auth_token_env": "TOCSIN_TEST_TWILIO_TOKEN",
            "from": "+15550001111",
        }
    )


async def test_sms_posts_a_form_with_basic_auth(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    created = {"sid": "SM0123456789", "status": "queued"}
    with json_receiver((429, {"code": 20429}), (201, created)) as receiver:
        async with engine.db.write() as session:
            row = await notify.queue(
                session,
                channel=sms(receiver.base),
                recipient="+15557654321",
                subject="SEV1",
                text="Checkout is down.",
                idempotency_key="sms-1",
                clock=engine.clock,
            )
            nid = row.id
        await run_for(engine, timedelta(minutes=5))
    assert len(receiver.requests) == 2
    request = receiver.requests[-1]
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    login = base64.b64encode(f"AC123:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {login}"
    form = parse_qs(request.body.decode())
    assert form == {
        "To": ["+15557654321"],
        "From": ["+15550001111"],
        "Body": ["SEV1\nCheckout is down."],
    }
    delivered = await row_of(engine, nid)
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
    assert delivered.provider_reply == "HTTP 201 sid=SM0123456789"
    assert AUTH_TOKEN not in json.dumps([delivered.payload, delivered.last_error])


async def test_sms_400_is_final(engine: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    invalid = {"code": 21211, "message": "The 'To' number is not a valid phone number."}
    with json_receiver((400, invalid)) as receiver:
        nid = await queue(engine, sms(receiver.base), None)
        await run_for(engine, timedelta(hours=1))
    assert len(receiver.requests) == 1
    row = await row_of(engine, nid)
    assert row.status == "failed"
    assert row.last_error and "21211" in row.last_error
