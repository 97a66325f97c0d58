"""Escalation pages reach people through their personal notification rules.

The engine pages through the outbox: rules due at once are queued in the step's
transaction, later ones only if the incident is still unacknowledged then; every page
carries an acknowledge link and an SMS reply code; a person who cannot be reached is a
timeline event. Real job engine, virtual clock, SQLite and PostgreSQL.

The policy and helpers here are shared by ``test_acks.py`` and ``test_sms_reply.py``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.notify.servers import free_port

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.jobs.models import Job
from tocsin.jobs.registry import load_handlers
from tocsin.notify import pages
from tocsin.notify.models import AckToken, Notification
from tocsin.policy import service as policies
from tocsin.policy.loader import load_policy_text
from tocsin.policy.schema_comms import NotifyRule
from tocsin.policy.schema_notify import SlackChannel
from tocsin.simulate.runner import run_until

PUBLIC_URL = "https://tocsin.example.com/base"
TWILIO_TOKEN_ENV = "TOCSIN_TEST_PAGES_TWILIO_TOKEN"
SMTP_PASSWORD_ENV = "TOCSIN_TEST_PAGES_SMTP_PASSWORD"
OLLY_PHONE = "+31600000001"

POLICY = """
tocsin: 1
organization:
  name: Paging test
  timezone: Europe/Amsterdam
severities:
  - key: P1
    name: High
    sla:
      acknowledge: 15m
  - key: P3
    name: Low
incident_types:
  - {key: security, name: Security, restricted: true}
roles:
  - key: on-call-engineer
    name: On-call engineer
    permissions: [acknowledge, update-status]
people:
  - key: olly
    email: olly@example.com
    name: Olly Oncall
    roles: [on-call-engineer]
    contacts:
      - {type: sms, value: "+31 6 0000 0001", label: Work phone}
      - {type: voice, value: "+31 6 0000 0001"}
      - {type: email, value: olly.pager@example.com}
    notify:
      - {via: sms}
      - {via: email}
      - {via: voice, after: 2m}
  - key: kim
    email: kim@example.com
    name: Kim Second
    roles: [on-call-engineer]
    contacts:
      - {type: sms, value: "+31600000002"}
  - key: vp
    email: vp@example.com
    name: Vic President
  - key: noah
    email: noah@example.com
    name: Noah Nochannel
    contacts:
      - {type: slack, value: U024BE7LH}
    notify:
      - {via: slack}
escalation:
  - key: p1
    name: P1 ladder
    severities: [P1]
    steps:
      - {at: 0m, page: [user:olly, user:kim]}
      - {at: 10m, page: [user:vp, user:noah]}
      - {at: 30m, notify: [user:kim], when: not resolved}
channels:
  - key: mail
    type: email
    host: 127.0.0.1
    port: PORT
    tls: none
    username: tocsin
    password_env: SMTP_ENV
    from: Tocsin <tocsin@example.com>
  - key: texts
    type: sms
    base_url: http://127.0.0.1:PORT
    account_sid: AC0123456789
    auth_token_env: TWILIO_ENV
    from: "+15550001111"
  - key: calls
    type: voice
    base_url: http://127.0.0.1:PORT
    account_sid: AC0123456789
    auth_token_env: TWILIO_ENV
    from: "+15550001111"
"""


def policy_text() -> str:
    """The policy above, its channels pointed at a closed local port (nothing is sent)."""
    return (
        POLICY.replace("PORT", str(free_port()))
        .replace("SMTP_ENV", SMTP_PASSWORD_ENV)
        .replace("TWILIO_ENV", TWILIO_TOKEN_ENV)
    )


async def setup_paging(ctx: Context, monkeypatch: pytest.MonkeyPatch, text: str = "") -> Context:
    monkeypatch.setenv("TOCSIN_PUBLIC_URL", PUBLIC_URL)
    # No secrets: delivery fails at once, without the network; the outbox is what we read.
    monkeypatch.delenv(SMTP_PASSWORD_ENV, raising=False)
    monkeypatch.delenv(TWILIO_TOKEN_ENV, raising=False)
    load_handlers()
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, text or policy_text(), clock=ctx.clock)
    return ctx


@pytest.fixture
async def paging(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    return await setup_paging(ctx, monkeypatch)


async def declare(ctx: Context, severity: str = "P1") -> str:
    async with ctx.db.write() as session:
        data = schemas.DeclareIn(title="Checkout returns 500", severity=severity)
        return (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref


async def run_for(ctx: Context, delta: timedelta = timedelta(0)) -> None:
    assert isinstance(ctx.clock, VirtualClock)
    await run_until(ctx.db, ctx.clock, ctx.clock.now() + delta)


async def acknowledge(ctx: Context, ref: str, email: str, via: str = "api") -> None:
    async with ctx.db.write() as session:
        actor = auth.actor_for(await auth.get_user(session, email))
        await incidents.acknowledge(session, actor, ref, clock=ctx.clock, via=via)


async def messages(ctx: Context, person: str | None = None) -> list[Notification]:
    async with ctx.db.read() as session:
        query = select(Notification).order_by(Notification.id)
        if person is not None:
            query = query.where(Notification.person == person)
        return list(await session.scalars(query))


async def tokens(ctx: Context) -> list[AckToken]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(AckToken).order_by(AckToken.id)))


async def events(ctx: Context, *kinds: str) -> list[IncidentEvent]:
    async with ctx.db.read() as session:
        query = select(IncidentEvent).order_by(IncidentEvent.id)
        if kinds:
            query = query.where(IncidentEvent.kind.in_(kinds))
        return list(await session.scalars(query))


async def incident(ctx: Context, ref: str) -> Incident:
    async with ctx.db.read() as session:
        found = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert found is not None
        return found


def link_in(message: Notification) -> str:
    """The acknowledge link's token in a page's text."""
    found = re.search(re.escape(PUBLIC_URL) + r"/ack/(\S+)", message.body_text)
    assert found, message.body_text
    return found.group(1)


def sent(rows: list[Notification]) -> set[tuple[str, str, str]]:
    return {(r.channel_kind, r.channel_key, r.recipient) for r in rows}


async def test_rules_at_once_are_queued_with_the_page(paging: Context) -> None:
    ref = await declare(paging)
    await run_for(paging)
    olly = await messages(paging, "olly")
    assert sent(olly) == {
        ("sms", "texts", OLLY_PHONE),
        ("email", "mail", "olly.pager@example.com"),
    }
    # Kim has no rules: every contact she has, and her e-mail, at once.
    assert sent(await messages(paging, "kim")) == {
        ("sms", "texts", "+31600000002"),
        ("email", "mail", "kim@example.com"),
    }
    # One token per person per page, shared by that person's messages.
    rows = await tokens(paging)
    assert sorted(t.person for t in rows) == ["kim", "olly"]
    mine = next(t for t in rows if t.person == "olly")
    assert re.fullmatch(r"\d{6}", mine.code)
    assert mine.recipient == OLLY_PHONE
    assert mine.expires_at - mine.created_at == timedelta(hours=24)
    assert mine.used_at is None
    for row in olly:
        assert row.incident_id == (await incident(paging, ref)).id
        assert ref in row.subject
        assert "not acknowledged" in row.body_text  # the page's reason
        assert row.payload["data"]["kind"] == "page"
        assert row.payload["data"]["ack_code"] == mine.code
    # The text has the reply code, not the link; the e-mail the link, not the code.
    [text] = [r for r in olly if r.channel_kind == "sms"]
    [mail] = [r for r in olly if r.channel_kind == "email"]
    assert f"Reply {mine.code} to this SMS to acknowledge." in text.body_text
    assert "/ack/" not in text.body_text
    assert f"{PUBLIC_URL}/ack/" in mail.body_text
    assert mine.code not in mail.body_text.replace(link_in(mail), "")
    assert text.payload["data"]["ack_url"] == f"{PUBLIC_URL}/ack/{link_in(mail)}"
    # Nothing is sent for incidents of a severity without a ladder, and no voice call yet.
    assert not [r for r in olly if r.channel_kind == "voice"]


async def test_a_later_rule_calls_if_still_unacknowledged(paging: Context) -> None:
    await declare(paging)
    await run_for(paging, timedelta(minutes=1))
    assert not [r for r in await messages(paging, "olly") if r.channel_kind == "voice"]
    await run_for(paging, timedelta(minutes=1))
    calls = [r for r in await messages(paging, "olly") if r.channel_kind == "voice"]
    assert sent(calls) == {("voice", "calls", OLLY_PHONE)}
    [token] = [t for t in await tokens(paging) if t.person == "olly"]
    # Read out digit by digit, to be texted back; no link in a call.
    assert f"text the code {' '.join(token.code)} to this number" in calls[0].body_text
    assert "/ack/" not in calls[0].body_text
    assert "still not acknowledged after 2m" in calls[0].body_text
    # Running on changes nothing: the rule is sent once.
    await run_for(paging, timedelta(minutes=5))
    assert len([r for r in await messages(paging, "olly") if r.channel_kind == "voice"]) == 1


async def test_acknowledged_at_one_minute_means_no_call(paging: Context) -> None:
    ref = await declare(paging)
    await run_for(paging, timedelta(minutes=1))
    await acknowledge(paging, ref, "kim@example.com")
    await run_for(paging, timedelta(minutes=5))
    assert not [r for r in await messages(paging) if r.channel_kind == "voice"]
    # The rule's job ran and did nothing.
    async with paging.db.read() as session:
        jobs = list(await session.scalars(select(Job).where(Job.kind == pages.PAGE_RULE_JOB)))
    assert [j.status for j in jobs] == ["done"]


async def test_a_person_who_cannot_be_reached_is_on_the_timeline(paging: Context) -> None:
    await declare(paging)
    await run_for(paging, timedelta(minutes=10))
    # Vic has no rules: his e-mail. Noah's only rule is Slack, and there is no Slack channel.
    assert sent(await messages(paging, "vp")) == {("email", "mail", "vp@example.com")}
    assert await messages(paging, "noah") == []
    [event] = await events(paging, "page_not_sent")
    assert "noah" in event.summary and "slack" in event.summary
    assert event.data["after"]["not_sent"] == {"noah": ["slack: the policy has no slack channel"]}
    assert "vp" not in event.summary
    assert sorted(t.person for t in await tokens(paging)) == ["kim", "olly", "vp"]


async def test_a_notice_goes_to_the_first_email_without_a_link(paging: Context) -> None:
    await declare(paging)
    await run_for(paging, timedelta(minutes=30))
    notices = [r for r in await messages(paging) if r.payload["data"].get("kind") == "notify"]
    assert sent(notices) == {("email", "mail", "kim@example.com")}
    [notice] = notices
    assert notice.person is None  # not a page through a personal rule
    assert "/ack/" not in notice.body_text
    assert "p1 escalation step 3: not resolved" in notice.body_text


async def test_a_page_run_again_sends_nothing_twice(paging: Context) -> None:
    ref = await declare(paging)
    async with paging.db.write() as session:
        _, policy = await policies.current(session)
        found = await session.scalar(select(Incident).where(Incident.ref == ref))
        assert found is not None
        for _ in range(2):
            await pages.page(
                session,
                policy,
                found,
                ["olly"],
                "test",
                clock=paging.clock,
                public_url=PUBLIC_URL,
                cause="manual",
            )
    assert len(await messages(paging, "olly")) == 2  # SMS and e-mail, once each
    async with paging.db.read() as session:
        jobs = list(await session.scalars(select(Job).where(Job.kind == pages.PAGE_RULE_JOB)))
    assert len(jobs) == 1  # the voice rule, de-duplicated


async def test_policies_without_channels_page_nobody_but_say_so(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = policy_text()
    text = text[: text.index("channels:")]
    await setup_paging(ctx, monkeypatch, text)
    await declare(ctx)
    await run_for(ctx, timedelta(minutes=1))
    assert await messages(ctx) == []
    assert await tokens(ctx) == []
    # One page event per target, as before, each followed by why nobody got it.
    recorded = [(e.kind, e.data["after"].get("not_sent")) for e in await events(ctx)][-4:]
    assert [kind for kind, _ in recorded] == ["page", "page_not_sent"] * 2
    assert recorded[1][1] == {
        "olly": [
            "sms: the policy has no sms channel",
            "email: the policy has no email channel",
            "voice: the policy has no voice channel",
        ]
    }
    assert set(recorded[3][1]) == {"kim"}


def test_planning_picks_the_channel_each_contact_needs() -> None:
    policy = load_policy_text(
        """
tocsin: 1
organization: {name: Plan, timezone: UTC}
severities: [{key: P1, name: High}]
channels:
  - {key: mail, type: email, host: smtp.example.com, from: tocsin@example.com}
  - {key: calls, type: voice, account_sid: AC1, auth_token_env: T, from: "+15550001111"}
  - {key: texts, type: sms, account_sid: AC1, auth_token_env: T, from: "+15550001111"}
  - {key: chat, type: slack, token_env: S, channel: "#incidents"}
people:
  - key: dana
    email: dana@example.com
    name: Dana
    contacts:
      - {type: phone, value: "+31 (6) 1234-5678", label: Mobile}
      - {type: slack, value: U024BE7LH}
      - {type: url, value: "https://example.com/dana"}
"""
    )
    dana = policy.person("dana")
    assert dana is not None
    rules = pages.default_rules(dana)
    assert [r.via for r in rules] == ["email", "phone", "slack"]

    def plan(via: str, channel: str | None = None) -> list[tuple[str | None, str, str | None]]:
        rule = NotifyRule(via=via, channel=channel)
        return [
            (t.channel.key if t.channel else None, t.recipient, t.problem)
            for t in pages.targets_of(policy, dana, rule)
        ]

    # A phone number: SMS by default (the policy's first SMS channel), a call when asked.
    assert plan("phone") == [("texts", "+31612345678", None)]
    assert plan("sms") == [("texts", "+31612345678", None)]
    assert plan("voice") == [("calls", "+31612345678", None)]
    assert plan("Mobile", channel="calls") == [("calls", "+31612345678", None)]
    assert plan("email") == [("mail", "dana@example.com", None)]
    assert plan("teams") == [(None, "", "no 'teams' contact")]
    assert plan("sms", channel="mail") == [
        (None, "+31612345678", "channel 'mail' is email and cannot carry it")
    ]
    # Slack: a direct message to the person's ID, not the channel's own #incidents.
    [target] = pages.targets_of(policy, dana, NotifyRule(via="slack"))
    assert isinstance(target.channel, SlackChannel) and target.channel.channel == "U024BE7LH"
    assert policy.channels[3].channel == "#incidents"  # the policy's channel is untouched
    # Notices go to the first e-mail or chat contact a channel carries.
    notice = pages.notice_target(policy, dana)
    assert (notice.via, notice.recipient) == ("slack", "U024BE7LH")
