"""Acknowledging by SMS reply: Twilio's inbound webhook, signed as Twilio signs it.

The signature is computed here independently, per Twilio's documented algorithm (the full
URL, then each POST parameter's name and value sorted by name, HMAC-SHA1 keyed with the
auth token, base64), and checked against the official ``twilio`` package's
``RequestValidator``. SQLite and PostgreSQL; virtual clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from tests.notify.test_pages import (
    OLLY_PHONE,
    PUBLIC_URL,
    TWILIO_TOKEN_ENV,
    acknowledge,
    declare,
    events,
    incident,
    run_for,
    setup_paging,
    tokens,
)

from tocsin.app import create_app
from tocsin.context import Context
from tocsin.notify import acks

AUTH_TOKEN = "12345678901234567890123456789012"
PATH = "/api/v1/notify/sms/inbound"
URL = PUBLIC_URL + PATH


@pytest.fixture
async def paging(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    await setup_paging(ctx, monkeypatch)
    monkeypatch.setenv(TWILIO_TOKEN_ENV, AUTH_TOKEN)
    return ctx


@pytest.fixture
async def web(paging: Context) -> AsyncIterator[httpx.AsyncClient]:
    settings = paging.settings.model_copy(update={"public_url": PUBLIC_URL})
    app = create_app(settings, clock=paging.clock, database=paging.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def twilio_signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """As Twilio documents it: URL + sorted name/value pairs, HMAC-SHA1, base64."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def inbound(body: str, sender: str = OLLY_PHONE) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS."""
    return {
        "ToCountry": "US",
        "ToState": "NY",
        "SmsMessageSid": "SM0123456789abcdef0123456789abcdef",
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": "SM0123456789abcdef0123456789abcdef",
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "NL",
        "To": "+15550001111",
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789",
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


async def reply(
    web: httpx.AsyncClient, form: dict[str, str], signature: str | None = None
) -> httpx.Response:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(URL, form) if signature is None else signature,
    }
    return await web.post(PATH, content=urlencode(form), headers=headers)


def message_of(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    text = answer.text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert text.endswith("</Message></Response>")
    return text.split("<Message>", 1)[1].split("</Message>", 1)[0]


async def paged(ctx: Context) -> tuple[str, str]:
    """Declare, page, and return (ref, Olly's reply code)."""
    ref = await declare(ctx)
    await run_for(ctx)
    [token] = [t for t in await tokens(ctx) if t.person == "olly"]
    return ref, token.code


def test_our_signature_is_twilios() -> None:
    twilio = pytest.importorskip("twilio.request_validator")
    form = inbound("123456")
    mine = twilio_signature(URL, form)
    validator = twilio.RequestValidator(AUTH_TOKEN)
    assert validator.compute_signature(URL, form) == mine
    assert validator.validate(URL, form, mine)
    assert acks.twilio_signature(URL, list(form.items()), AUTH_TOKEN) == mine
    assert acks.twilio_signed(URL, list(form.items()), mine, [AUTH_TOKEN])
    # Twilio signs with or without the port; both are accepted.
    with_port = URL.replace("tocsin.example.com", "tocsin.example.com:443")
    assert acks.twilio_signed(
        URL, list(form.items()), twilio_signature(with_port, form), [AUTH_TOKEN]
    )
    assert not acks.twilio_signed(URL, list(form.items()), mine, ["another-token"])


async def test_the_reply_code_acknowledges_once(paging: Context, web: httpx.AsyncClient) -> None:
    ref, code = await paged(paging)
    paging.clock.advance(minutes=1)  # type: ignore[attr-defined]
    text = message_of(await reply(web, inbound(f" {code}\n")))
    assert text == f"Acknowledged {ref}: Checkout returns 500"
    found = await incident(paging, ref)
    assert found.acknowledged_at == paging.clock.now()
    [event] = await events(paging, "acknowledged")
    assert event.actor == "olly@example.com"
    assert event.summary == "Acknowledged by Olly Oncall via sms"
    assert event.data["after"]["via"] == "sms"
    [used] = [t for t in await tokens(paging) if t.person == "olly"]
    assert used.used_via == "sms" and used.used_at == paging.clock.now()
    # The call planned at 2 minutes does not come.
    await run_for(paging, timedelta(minutes=5))
    assert len(await events(paging, "acknowledged")) == 1
    # The same code again: already used, nothing changes.
    again = message_of(await reply(web, inbound(code)))
    assert "already used" in again and "an SMS reply" in again
    assert len(await events(paging, "acknowledged")) == 1


async def test_codes_inside_words_and_spaced_are_read(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, code = await paged(paging)
    spaced = f"ack {code[:3]} {code[3:]}"
    assert acks.reply_code(spaced) == code
    assert acks.reply_code(f"ACK {code}, on it") == code
    assert message_of(await reply(web, inbound(f"ACK {code}"))).startswith("Acknowledged")
    assert (await incident(paging, ref)).acknowledged_at is not None


async def test_a_wrong_code_changes_nothing(paging: Context, web: httpx.AsyncClient) -> None:
    ref, code = await paged(paging)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for body in (wrong, "yes", ""):
        text = message_of(await reply(web, inbound(body)))
        assert text.startswith("Unknown or expired code")
    assert (await incident(paging, ref)).acknowledged_at is None
    assert all(t.used_at is None for t in await tokens(paging))


async def test_a_code_from_another_number_changes_nothing(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, code = await paged(paging)
    text = message_of(await reply(web, inbound(code, sender="+31699999999")))
    assert text.startswith("Unknown or expired code")
    assert (await incident(paging, ref)).acknowledged_at is None


async def test_an_expired_code_changes_nothing(paging: Context, web: httpx.AsyncClient) -> None:
    ref, code = await paged(paging)
    [token] = [t for t in await tokens(paging) if t.person == "olly"]
    paging.clock.set(token.expires_at + timedelta(seconds=1))  # type: ignore[attr-defined]
    text = message_of(await reply(web, inbound(code)))
    assert "expired" in text
    assert (await incident(paging, ref)).acknowledged_at is None
    assert all(t.used_at is None for t in await tokens(paging))


async def test_already_acknowledged_by_someone_else(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, code = await paged(paging)
    await acknowledge(paging, ref, "kim@example.com", via="api")
    text = message_of(await reply(web, inbound(code)))
    assert text.startswith(f"{ref} was already acknowledged by Kim Second")
    assert all(t.used_at is None for t in await tokens(paging))


@pytest.mark.parametrize(
    "tamper",
    ["signature", "missing", "body", "url", "token"],
)
async def test_a_bad_signature_is_refused_and_changes_nothing(
    paging: Context, web: httpx.AsyncClient, tamper: str
) -> None:
    ref, code = await paged(paging)
    form = inbound(code)
    signature = twilio_signature(URL, form)
    if tamper == "signature":
        signature = signature[:-2] + ("A=" if signature[-2] != "A" else "B=")
    elif tamper == "missing":
        signature = ""
    elif tamper == "body":
        signature = twilio_signature(URL, inbound("000000"))
    elif tamper == "url":
        signature = twilio_signature("https://elsewhere.example.com" + PATH, form)
    else:
        signature = twilio_signature(URL, form, token="not-the-auth-token")
    answer = await reply(web, form, signature)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "bad_signature"
    assert (await incident(paging, ref)).acknowledged_at is None
    assert all(t.used_at is None for t in await tokens(paging))
    assert await events(paging, "acknowledged") == []


async def test_without_the_auth_token_nothing_is_trusted(
    paging: Context, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, code = await paged(paging)
    form = inbound(code)
    monkeypatch.delenv(TWILIO_TOKEN_ENV)
    assert (await reply(web, form)).status_code == 403
    assert (await incident(paging, ref)).acknowledged_at is None
