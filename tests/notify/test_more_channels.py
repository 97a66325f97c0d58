"""Slack incoming webhooks, voice calls and Apprise end to end: queued in a transaction,
delivered by the real job engine through the real clients (httpx, Apprise) to local
receivers that speak each provider's shape, under a virtual clock, on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from tests.notify.servers import Answering, Plain, Received, json_receiver
from tests.notify.test_channels_policy import with_channels
from tests.notify.test_delivery import declare, engine, notification_events, queue, row_of, run_for

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents.models import Incident
from tocsin.notify import service as notify
from tocsin.notify.channels.apprise import redacted, scrubbed, split_urls
from tocsin.notify.models import Notification
from tocsin.policy import service as policies
from tocsin.policy.loader import load_policy_text
from tocsin.policy.schema_notify import AppriseChannel, SlackWebhookChannel, VoiceChannel

__all__ = ["engine"]  # the fixture, shared with the e-mail and webhook tests

# Apprise's PGP support imports the standard library's imghdr (deprecated on 3.11 and 3.12).
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

AUTH_TOKEN = "twilio-auth-token-do-not-log"
HOOK_SECRET = "T000-B000-slack-hook-secret"
JSON_TOKEN = "json-path-token-do-not-log"
MM_TOKEN = "mattermosttokendonotlog"
SUBJECT = "Incident declared: Checkout down"
TEXT = "Checkout is down.\nWe are on it."


async def attempt_details(ctx: Context, notification_id: int) -> list[tuple[str, str]]:
    async with ctx.db.read() as session:
        return [(a.outcome, a.detail) for a in await notify.attempts_of(session, notification_id)]


async def everything_about(ctx: Context, notification_id: int) -> str:
    """All Tocsin kept of a notification: the row, its attempts and the timeline."""
    row = await row_of(ctx, notification_id)
    events = await notification_events(ctx)
    return json.dumps(
        [
            [row.payload, row.provider_reply, row.last_error],
            await attempt_details(ctx, notification_id),
            [[e.summary, e.data] for e in events],
        ]
    )


async def queue_to(ctx: Context, channel: Any, recipient: str, key: str = "k1") -> int:
    async with ctx.db.write() as session:
        row = await notify.queue(
            session,
            channel=channel,
            recipient=recipient,
            subject=SUBJECT,
            text=TEXT,
            idempotency_key=key,
            clock=ctx.clock,
        )
        return row.id


# Slack incoming webhooks


def slack_hook() -> SlackWebhookChannel:
    return SlackWebhookChannel(
        key="slack-hook", type="slack_webhook", url_env="TOCSIN_TEST_SLACK_HOOK_URL"
    )


def hook_url(receiver: Answering) -> str:
    return f"{receiver.base}/services/{HOOK_SECRET}"


async def test_slack_webhook_posts_text_and_keeps_ok(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await declare(engine)
    with json_receiver((200, Plain("ok"))) as receiver:
        monkeypatch.setenv("TOCSIN_TEST_SLACK_HOOK_URL", hook_url(receiver))
        nid = await queue(engine, slack_hook(), ref)
        await run_for(engine, timedelta(minutes=1))
    [request] = receiver.requests
    assert request.path == f"/services/{HOOK_SECRET}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-tocsin-idempotency-key"] == "k1"
    assert json.loads(request.body) == {"text": f"*{SUBJECT}*\n{TEXT}"}
    row = await row_of(engine, nid)
    assert (row.status, row.attempts, row.provider_reply) == ("delivered", 1, "HTTP 200 ok")
    [event] = await notification_events(engine)
    assert event.summary.startswith("Delivered slack_webhook")
    assert HOOK_SECRET not in await everything_about(engine, nid)


async def test_slack_webhook_escapes_what_slack_would_read_as_markup(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    with json_receiver((200, Plain("ok"))) as receiver:
        monkeypatch.setenv("TOCSIN_TEST_SLACK_HOOK_URL", hook_url(receiver))
        async with engine.db.write() as session:
            await notify.queue(
                session,
                channel=slack_hook(),
                recipient="#ops",
                subject="<!channel> A & B",
                text="see <https://evil.test|here>",
                idempotency_key="markup",
                clock=engine.clock,
            )
        await run_for(engine, timedelta(minutes=1))
    [request] = receiver.requests
    assert json.loads(request.body)["text"] == (
        "*&lt;!channel&gt; A &amp; B*\nsee &lt;https://evil.test|here&gt;"
    )


async def test_slack_webhook_5xx_and_429_are_retried(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = ((500, Plain("rollup_error")), (429, Plain("rate limited")), (200, Plain("ok")))
    with json_receiver(*script) as receiver:
        monkeypatch.setenv("TOCSIN_TEST_SLACK_HOOK_URL", hook_url(receiver))
        nid = await queue(engine, slack_hook(), None)
        await run_for(engine, timedelta(minutes=10))
    assert len(receiver.requests) == 3
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert await attempt_details(engine, nid) == [
        ("temporary", "HTTP 500 rollup_error"),
        ("temporary", "HTTP 429 rate limited"),
        ("ok", "HTTP 200 ok"),
    ]


@pytest.mark.parametrize(
    ("status", "answer"),
    [(400, "invalid_payload"), (404, "no_service"), (410, "channel_is_archived")],
)
async def test_slack_webhook_4xx_fails_at_once(
    engine: Context, monkeypatch: pytest.MonkeyPatch, status: int, answer: str
) -> None:
    ref = await declare(engine)
    with json_receiver((status, Plain(answer))) as receiver:
        monkeypatch.setenv("TOCSIN_TEST_SLACK_HOOK_URL", hook_url(receiver))
        nid = await queue(engine, slack_hook(), ref)
        await run_for(engine, timedelta(hours=1))
    assert len(receiver.requests) == 1
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == f"HTTP {status} {answer}"
    [event] = await notification_events(engine)
    assert event.summary.startswith("Failed to deliver slack_webhook")
    assert HOOK_SECRET not in await everything_about(engine, nid)


async def test_slack_webhook_without_its_url_fails_without_calling(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_TEST_SLACK_HOOK_URL", raising=False)
    nid = await queue(engine, slack_hook(), None)
    await run_for(engine, timedelta(minutes=1))
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "environment variable TOCSIN_TEST_SLACK_HOOK_URL is not set"


async def test_slack_webhook_unreachable_is_temporary_and_never_names_the_url(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    with json_receiver() as receiver:
        gone = hook_url(receiver)
    monkeypatch.setenv("TOCSIN_TEST_SLACK_HOOK_URL", gone)  # nothing listens there now
    nid = await queue(engine, slack_hook(), None)
    await run_for(engine, timedelta(seconds=2))  # the first attempt, not the retry
    [(outcome, detail)] = await attempt_details(engine, nid)
    assert (outcome, detail) == ("temporary", "Slack webhook ConnectError")
    assert (await row_of(engine, nid)).status == "pending"
    assert HOOK_SECRET not in await everything_about(engine, nid)


# Voice calls


def voice(base: str, language: str = "en-US") -> VoiceChannel:
    return VoiceChannel.model_validate(
        {
            "key": "voice",
            "type": "voice",
            "base_url": base,
            "account_sid": "AC123",
            "auth_token_env": "TOCSIN_TEST_TWILIO_TOKEN",
            "from": "+15550001111",
            "language": language,
        }
    )


def form_of(request: Received) -> dict[str, list[str]]:
    return parse_qs(request.body.decode())


async def test_voice_places_a_call_that_says_the_message_twice(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    created = {"sid": "CA0123456789", "status": "queued"}
    with json_receiver((201, created)) as receiver:
        async with engine.db.write() as session:
            row = await notify.queue(
                session,
                channel=voice(receiver.base, "nl-NL"),
                recipient="+31600000001",
                subject="SEV1 <Checkout> & payments",
                text="Checkout is down.\nWe are on it",
                idempotency_key="call-1",
                clock=engine.clock,
            )
            nid = row.id
        await run_for(engine, timedelta(minutes=1))
    [request] = receiver.requests
    assert request.path == "/2010-04-01/Accounts/AC123/Calls.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    login = base64.b64encode(f"AC123:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {login}"
    form = form_of(request)
    assert (form["To"], form["From"]) == (["+31600000001"], ["+15550001111"])
    [twiml] = form["Twiml"]
    assert "&lt;Checkout&gt; &amp; payments" in twiml  # escaped, so it still parses
    document = ElementTree.fromstring(twiml)
    assert document.tag == "Response"
    assert [child.tag for child in document] == ["Say", "Pause", "Say"]
    said = "SEV1 <Checkout> & payments. Checkout is down. We are on it."
    for say in document.findall("Say"):
        assert (say.get("language"), say.text) == ("nl-NL", said)
    delivered = await row_of(engine, nid)
    assert (delivered.status, delivered.provider_reply) == (
        "delivered",
        "HTTP 201 sid=CA0123456789",
    )
    assert AUTH_TOKEN not in await everything_about(engine, nid)


async def test_voice_5xx_is_retried_and_the_call_placed_once(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    script = ((503, {"code": 20503, "message": "Service unavailable"}), (201, {"sid": "CA9"}))
    with json_receiver(*script) as receiver:
        nid = await queue_to(engine, voice(receiver.base), "+15557654321")
        await run_for(engine, timedelta(minutes=5))
    assert len(receiver.requests) == 2
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 2)
    [(first, detail), (second, _)] = await attempt_details(engine, nid)
    assert (first, second) == ("temporary", "ok")
    assert detail.startswith("HTTP 503") and "20503" in detail


async def test_voice_400_fails_at_once_with_the_providers_answer(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    invalid = {"code": 21217, "message": "Phone number does not appear to be valid"}
    with json_receiver((400, invalid)) as receiver:
        nid = await queue_to(engine, voice(receiver.base), "+1555")
        await run_for(engine, timedelta(hours=1))
    assert len(receiver.requests) == 1
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error and row.last_error.startswith("HTTP 400") and "21217" in row.last_error
    assert AUTH_TOKEN not in await everything_about(engine, nid)


async def test_voice_without_its_token_fails_without_calling(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_TEST_TWILIO_TOKEN", raising=False)
    with json_receiver((201, {"sid": "CA1"})) as receiver:
        nid = await queue_to(engine, voice(receiver.base), "+15557654321")
        await run_for(engine, timedelta(minutes=1))
    assert receiver.requests == []
    row = await row_of(engine, nid)
    assert row.status == "failed"
    assert row.last_error == "environment variable TOCSIN_TEST_TWILIO_TOKEN is not set"


# Apprise


def apprise_channel(urls_env: str | None = "TOCSIN_TEST_APPRISE_URLS") -> AppriseChannel:
    return AppriseChannel(key="long-tail", type="apprise", urls_env=urls_env, timeout=5)


def host_of(receiver: Answering) -> str:
    return receiver.base.removeprefix("http://")


def by_path(receiver: Answering) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for request in receiver.requests:
        found.setdefault(request.path, []).append(json.loads(request.body))
    return found


async def test_apprise_sends_to_the_channels_urls(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await declare(engine)
    with json_receiver((200, {"ok": True})) as receiver:
        host = host_of(receiver)
        urls = f"json://{host}/hooks-json/{JSON_TOKEN},  mmost://{host}/{MM_TOKEN}"
        monkeypatch.setenv("TOCSIN_TEST_APPRISE_URLS", urls)
        nid = await queue(engine, apprise_channel(), ref)
        await run_for(engine, timedelta(minutes=1))
    got = by_path(receiver)
    assert sorted(got) == [f"/hooks-json/{JSON_TOKEN}", f"/hooks/{MM_TOKEN}"]
    [as_json] = got[f"/hooks-json/{JSON_TOKEN}"]
    assert (as_json["title"], as_json["message"], as_json["type"]) == (SUBJECT, TEXT, "info")
    [mattermost] = got[f"/hooks/{MM_TOKEN}"]
    assert mattermost["text"].replace("\r\n", "\n") == f"{SUBJECT}\n{TEXT}"
    assert mattermost["username"] == "Tocsin"
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 1)
    assert row.provider_reply == (
        f"Apprise SUCCESS: JSON json://{host}/…, Mattermost mmost://{host}/…"
    )
    [event] = await notification_events(engine)
    assert event.summary.startswith("Delivered apprise")
    everything = await everything_about(engine, nid)
    assert JSON_TOKEN not in everything and MM_TOKEN not in everything


async def test_an_apprise_url_as_recipient_is_where_it_goes(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_TEST_APPRISE_URLS", raising=False)  # not needed then
    with json_receiver((200, {"ok": True})) as receiver:
        personal = f"mmost://{host_of(receiver)}/dana-personal-token"
        nid = await queue_to(engine, apprise_channel(), personal)
        await run_for(engine, timedelta(minutes=1))
    assert [r.path for r in receiver.requests] == ["/hooks/dana-personal-token"]
    row = await row_of(engine, nid)
    assert row.status == "delivered"
    assert "dana-personal-token" not in (row.provider_reply or "")


async def test_apprise_5xx_is_temporary_and_the_error_holds_no_token(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    with json_receiver((500, {"error": "boom"}), (200, {"ok": True})) as receiver:
        monkeypatch.setenv(
            "TOCSIN_TEST_APPRISE_URLS", f"json://{host_of(receiver)}/hooks-json/{JSON_TOKEN}"
        )
        nid = await queue_to(engine, apprise_channel(), "ops")
        await run_for(engine, timedelta(minutes=5))
    assert len(receiver.requests) == 2
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("delivered", 2)
    [(outcome, detail), (ok, _)] = await attempt_details(engine, nid)
    assert (outcome, ok) == ("temporary", "ok")
    assert detail.startswith(f"Apprise FAILURE: JSON json://{host_of(receiver)}/… FAILURE")
    assert "error=500" in detail  # what Apprise logged
    assert JSON_TOKEN not in await everything_about(engine, nid)


async def test_apprise_4xx_is_retried_then_given_up(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apprise only says whether a service took the message, so a 4xx is retried too."""
    with json_receiver((400, {"error": "bad request"})) as receiver:
        personal = f"mmost://{host_of(receiver)}/{MM_TOKEN}"
        nid = await queue_to(engine, apprise_channel(None), personal)
        await run_for(engine, timedelta(days=1))
    assert len(receiver.requests) == notify.MAX_ATTEMPTS
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", notify.MAX_ATTEMPTS)
    assert row.last_error and "error=400" in row.last_error
    assert MM_TOKEN not in (row.last_error or "") + (row.provider_reply or "")


async def test_an_apprise_url_apprise_cannot_use_fails_at_once(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    with json_receiver((200, {"ok": True})) as receiver:
        good = f"json://{host_of(receiver)}/hooks-json/{JSON_TOKEN}"
        monkeypatch.setenv("TOCSIN_TEST_APPRISE_URLS", f"{good} nosuchservice://{MM_TOKEN}/x")
        nid = await queue_to(engine, apprise_channel(), "ops")
        await run_for(engine, timedelta(hours=1))
    assert receiver.requests == []  # not even to the good URL
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == (
        "Apprise cannot use the URL nosuchservice://…/… in environment variable"
        " TOCSIN_TEST_APPRISE_URLS"
    )


async def test_apprise_without_its_urls_fails_naming_the_variable(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_TEST_APPRISE_URLS", raising=False)
    nid = await queue_to(engine, apprise_channel(), "oncall@example.com")
    await run_for(engine, timedelta(minutes=1))
    row = await row_of(engine, nid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "environment variable TOCSIN_TEST_APPRISE_URLS is not set"
    monkeypatch.setenv("TOCSIN_TEST_APPRISE_URLS", " , ")
    other = await queue_to(engine, apprise_channel(), "ops", key="k2")
    await run_for(engine, timedelta(minutes=1))
    assert (await row_of(engine, other)).last_error == (
        "environment variable TOCSIN_TEST_APPRISE_URLS holds no Apprise URL"
    )


async def test_apprise_without_urls_env_needs_an_apprise_recipient(engine: Context) -> None:
    nid = await queue_to(engine, apprise_channel(None), "dana")
    await run_for(engine, timedelta(minutes=1))
    row = await row_of(engine, nid)
    assert row.status == "failed"
    assert row.last_error == (
        "the recipient is not an Apprise URL and channel long-tail has no urls_env"
    )


def test_apprise_urls_split_on_spaces_and_on_commas_before_a_scheme() -> None:
    value = " json://a.example/x, mmost://b.example/t\nntfy://c.example/topic?tags=a,b ,"
    assert split_urls(value) == [
        "json://a.example/x",
        "mmost://b.example/t",
        "ntfy://c.example/topic?tags=a,b",
    ]
    assert split_urls(" ") == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://user:pw@hooks.example.com:8443/a/b?x=1", "json://hooks.example.com:8443/…"),
        ("tgram://123456789:AAbbCCddEE/4242", "tgram://…/…"),
        ("discord://1234567890/webhooktoken", "discord://…/…"),
        ("mmost://127.0.0.1:8065/token", "mmost://127.0.0.1:8065/…"),
        ("not a url", "…"),
    ],
)
def test_apprise_urls_are_shown_without_their_tokens(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_apprise_logs_are_scrubbed_of_every_part_of_the_urls() -> None:
    urls = ["tgram://123456789:AAbbCCddEE/4242", "json://me:hunter22@h.example/p4th?key=v4lue"]
    logged = "sent to 123456789:AAbbCCddEE (AAbbCCddEE) as me with hunter22 to /p4th, v4lue"
    assert scrubbed(logged, urls) == "sent to … (…) as me with … to /…, …"


# Through the policy


POLICY_CHANNELS = """
channels:
  - key: slack-hook
    type: slack_webhook
    url_env: TOCSIN_TEST_SLACK_HOOK_URL
  - key: phone
    type: voice
    base_url: {base}
    account_sid: AC123
    auth_token_env: TOCSIN_TEST_TWILIO_TOKEN
    from: "+15550001111"
    language: en-GB
  - key: long-tail
    type: apprise
    urls_env: TOCSIN_TEST_APPRISE_URLS
"""


def test_the_new_channels_parse_with_defaults() -> None:
    policy = load_policy_text(with_channels(POLICY_CHANNELS.format(base="https://api.twilio.com")))
    hook, phone, tail = (notify.channel(policy, k) for k in ("slack-hook", "phone", "long-tail"))
    assert isinstance(hook, SlackWebhookChannel) and hook.timeout == 10
    assert isinstance(phone, VoiceChannel)
    assert (phone.language, phone.from_, phone.timeout) == ("en-GB", "+15550001111", 10)
    assert isinstance(tail, AppriseChannel) and tail.urls_env == "TOCSIN_TEST_APPRISE_URLS"


async def test_policy_channels_deliver_through_the_outbox_once_each(
    engine: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await declare(engine)
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    script = ((500, {"error": "once"}), (200, None))

    def answer(request: Received, index: int) -> Any:
        if request.path.endswith("/Calls.json"):
            return {"sid": "CA42"}
        return Plain("ok") if request.path.startswith("/services/") else {"ok": True}

    with json_receiver(*script, reply=answer) as receiver:
        monkeypatch.setenv("TOCSIN_TEST_SLACK_HOOK_URL", hook_url(receiver))
        monkeypatch.setenv(
            "TOCSIN_TEST_APPRISE_URLS", f"json://{host_of(receiver)}/hooks-json/{JSON_TOKEN}"
        )
        text = with_channels(POLICY_CHANNELS.format(base=receiver.base))
        async with engine.db.write() as session:
            await policies.apply(session, SYSTEM, text, clock=engine.clock, source="channels.yaml")
        async with engine.db.write() as session:
            policy = await policies.current_policy(session)
            incident = await session.scalar(select(Incident).where(Incident.ref == ref))
            for key, recipient in [
                ("slack-hook", "#incidents"),
                ("phone", "+15557654321"),
                ("long-tail", "ops"),
            ]:
                await notify.queue(
                    session,
                    channel=notify.channel(policy, key),
                    recipient=recipient,
                    subject=SUBJECT,
                    text=TEXT,
                    incident=incident,
                    idempotency_key=f"declared:{key}",
                    clock=engine.clock,
                )
        await run_for(engine, timedelta(minutes=10))
        # Queued again with the same keys: nothing more is sent.
        async with engine.db.write() as session:
            for key in ("slack-hook", "phone", "long-tail"):
                await notify.queue(
                    session,
                    channel=notify.channel(policy, key),
                    recipient="again",
                    subject=SUBJECT,
                    text=TEXT,
                    idempotency_key=f"declared:{key}",
                    clock=engine.clock,
                )
        await run_for(engine, timedelta(minutes=10))
    async with engine.db.read() as session:
        rows = list((await session.scalars(select(Notification).order_by(Notification.id))).all())
    assert [(r.channel_kind, r.status) for r in rows] == [
        ("slack_webhook", "delivered"),
        ("voice", "delivered"),
        ("apprise", "delivered"),
    ]
    assert sum(r.attempts for r in rows) == 4  # the first request of all met the one 500
    accepted = receiver.requests[1:]
    assert sorted(r.path for r in accepted) == [
        "/2010-04-01/Accounts/AC123/Calls.json",
        f"/hooks-json/{JSON_TOKEN}",
        f"/services/{HOOK_SECRET}",
    ]
    events = await notification_events(engine)
    assert sorted(e.summary.split(" ")[1] for e in events) == ["apprise", "slack_webhook", "voice"]
    assert all(e.data["after"]["notification"]["status"] == "delivered" for e in events)
    kept = json.dumps(
        [[r.payload, r.provider_reply, r.last_error] for r in rows]
        + [[e.summary, e.data] for e in events]
    )
    for secret in (AUTH_TOKEN, HOOK_SECRET, JSON_TOKEN):
        assert secret not in kept
