"""``comms.service``: preview and send an incident's messages, on SQLite and PostgreSQL.

Sending writes outbox rows (delivery is tested in tests/notify; one e-mail here goes to a
real local SMTP server), a ``comms`` timeline event and an audit row, in the caller's
transaction. Recipients are addresses or targets resolved to people's addresses.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.notify.servers import smtp_server

from tocsin.audit.models import AuditEntry
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.clock import VirtualClock
from tocsin.comms import service as comms
from tocsin.context import Context
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.jobs.registry import load_handlers
from tocsin.notify.models import Notification
from tocsin.policy import service as policies
from tocsin.policy.loader import load_policy_text
from tocsin.simulate.runner import run_until

PUBLIC = "https://tocsin.example.com"


def comms_policy(smtp_port: int = 9) -> str:
    """A small policy with a channel of each kind and people reached in different ways.

    Channels point at closed ports unless a test delivers: these tests are about what is
    queued.
    """
    return f"""\
tocsin: 1
organization: {{name: Example Shop, locale: en, timezone: Europe/Amsterdam}}
severities:
  - {{key: SEV1, name: Critical, update_every: 30m}}
  - {{key: SEV2, name: Major}}
incident_types:
  - {{key: outage, name: Outage}}
  - {{key: security, name: Security, restricted: true}}
components:
  - {{key: checkout, name: Checkout}}
roles:
  - key: incident-commander
    name: Incident Commander
    exclusive: true
    permissions: [acknowledge, update-status, assign-roles, send-communications]
  - {{key: comms, name: Communications, permissions: [send-communications]}}
  - {{key: on-call, name: On-call, permissions: [acknowledge]}}
teams:
  - {{key: support, name: Support}}
people:
  - {{key: dana, email: dana@example.com, name: Dana Lead, roles: [incident-commander],
     contacts: [{{type: sms, value: "+31612345678"}}]}}
  - {{key: sam, email: sam@example.com, name: Sam Oncall, roles: [on-call], locale: nl,
     teams: [support], contacts: [{{type: phone, value: "+31687654321"}}]}}
  - {{key: kim, email: kim@example.com, name: Kim Comms, roles: [comms], teams: [support]}}
  - {{key: eve, email: eve@example.com, name: Eve Outsider}}
channels:
  - {{key: chat, type: slack, token_env: TOCSIN_TEST_COMMS_SLACK, channel: "#incidents",
     base_url: "http://127.0.0.1:9/api/"}}
  - {{key: mail, type: email, host: 127.0.0.1, port: {smtp_port}, tls: none,
     from: "Example Shop <status@example.com>", timeout: 5}}
  - {{key: sms, type: sms, base_url: "http://127.0.0.1:9", account_sid: AC1,
     auth_token_env: TOCSIN_TEST_COMMS_TWILIO, from: "+15550001111"}}
  - {{key: push, type: apprise}}
  - {{key: hook, type: webhook, url: "http://127.0.0.1:9/hook"}}
templates:
  - key: incident-update
    description: Our own update
    subject: "Update {{{{ incident.ref }}}}"
    text: |
      Progress: {{{{ update.progress }}}}
      Next: {{{{ update.next_steps }}}}
"""


async def setup(ctx: Context, *, smtp_port: int = 9, type_: str = "outage") -> str:
    """Apply the policy, declare a SEV1 and make Dana its incident commander."""
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, comms_policy(smtp_port), clock=ctx.clock, source="comms.yaml"
        )
        data = schemas.DeclareIn(
            title="Checkout returns 500",
            severity="SEV1",
            type=type_,
            components=["checkout"],
            summary="Payments fail",
        )
        incident = await incidents.declare(session, SYSTEM, data, clock=ctx.clock)
        await incidents.assign_role(
            session, SYSTEM, incident.ref, "incident-commander", "dana@example.com", clock=ctx.clock
        )
        return incident.ref


async def actor_for(ctx: Context, email: str) -> Actor:
    async with ctx.db.read() as session:
        user = await auth.user_by_email(session, email)
        assert user is not None
        return auth.actor_for(user)


async def comms_events(ctx: Context) -> list[IncidentEvent]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(IncidentEvent).where(IncidentEvent.kind == "comms").order_by(IncidentEvent.id)
        )
        return list(rows.all())


async def outbox(ctx: Context) -> list[Notification]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(Notification).order_by(Notification.id))
        return list(rows.all())


# --- preview ---------------------------------------------------------------------------


async def test_preview_renders_the_incidents_real_fields(ctx: Context) -> None:
    ref = await setup(ctx)
    async with ctx.db.read() as session:
        out = await comms.preview(
            session,
            SYSTEM,
            ref,
            "incident-declared",
            clock=ctx.clock,
            public_url=PUBLIC,
        )
    assert out.template == "incident-declared" and out.locale == "en"
    assert out.subject == f"[SEV1] Incident declared: Checkout returns 500 ({ref})"
    assert out.text == (
        f"Incident {ref} has been declared.\n\n"
        "Issue: Payments fail\n"
        "Severity: SEV1 (Critical)\n"
        "Impact: [not known yet: impact]\n"
        "Affected: Checkout\n"
        "Detected: 2026-01-15 10:00 CET\n"
        "Declared by: [not known yet: declared by]\n"
        "Incident commander: Dana Lead\n"
        "Status: investigating\n"
        f"Details: {PUBLIC}/incidents/{ref}\n\n"
        "Updates follow every 30 min.\n"
    )
    assert out.html is None


async def test_preview_with_sender_fields_locale_and_the_policys_own(ctx: Context) -> None:
    ref = await setup(ctx)
    async with ctx.db.read() as session:
        own = await comms.preview(
            session,
            SYSTEM,
            ref,
            "incident-update",
            update={"progress": "Rolled back", "update.next_steps": "Watch"},
            clock=ctx.clock,
        )
        dutch = await comms.preview(
            session,
            SYSTEM,
            ref,
            "incident-update",
            locale="nl",
            update={"progress": "Teruggedraaid"},
            clock=ctx.clock,
        )
        reminder = await comms.preview(
            session,
            SYSTEM,
            ref,
            "reminder",
            update={"notice.reason": "Post a status update"},
            clock=ctx.clock,
        )
        page = await comms.preview(session, SYSTEM, ref, "page", clock=ctx.clock)
    assert own.subject == f"Update {ref}"
    assert own.text == "Progress: Rolled back\nNext: Watch\n"
    assert dutch.locale == "nl"
    assert "Voortgang: Teruggedraaid" in dutch.text
    assert "Volgende stappen: [nog onbekend: next steps]" in dutch.text
    assert reminder.text.startswith("Post a status update\n")
    assert "Acknowledge: [not known yet: ack url]" in page.text


@pytest.mark.parametrize(
    ("template", "kwargs", "error", "message"),
    [
        ("nope", {}, NotFound, "no template 'nope' (known: "),
        ("incident-update", {"locale": "fr"}, InvalidInput, "unknown locale 'fr' (known: en, nl)"),
        (
            "incident-update",
            {"update": {"progres": "x"}},
            InvalidInput,
            "unknown update field(s) progres (known: status, progress,",
        ),
        (
            "incident-update",
            {"update": {"incident.title": "x"}},
            InvalidInput,
            "'incident.title' cannot be set: a sender fills in update.NAME, notice.NAME",
        ),
        (
            "reminder",
            {"update": {"notice.why": "x"}},
            InvalidInput,
            "unknown notice field(s) why (known: reason)",
        ),
    ],
)
async def test_preview_refuses_bad_input(
    ctx: Context, template: str, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    ref = await setup(ctx)
    async with ctx.db.read() as session:
        with pytest.raises(error) as caught:
            await comms.preview(session, SYSTEM, ref, template, clock=ctx.clock, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message), str(caught.value)


async def test_a_restricted_incident_is_not_previewed_for_outsiders(ctx: Context) -> None:
    ref = await setup(ctx, type_="security")
    eve = await actor_for(ctx, "eve@example.com")
    async with ctx.db.read() as session:
        with pytest.raises(NotFound, match=f"no incident '{ref}'"):
            await comms.preview(session, eve, ref, "incident-update", clock=ctx.clock)
        dana = await actor_for(ctx, "dana@example.com")  # a participant: the commander
        out = await comms.preview(session, dana, ref, "incident-update", clock=ctx.clock)
    assert out.subject == f"Update {ref}"


# --- send ------------------------------------------------------------------------------


async def test_send_to_the_default_chat_channel_logs_and_audits(ctx: Context) -> None:
    ref = await setup(ctx)
    dana = await actor_for(ctx, "dana@example.com")
    async with ctx.db.write() as session:
        rows = await comms.send(
            session,
            dana,
            ref,
            "status-investigating",
            update={"customer_impact": "Payments fail"},
            clock=ctx.clock,
            public_url=PUBLIC,
        )
    assert [(r.channel_key, r.channel_kind, r.recipient, r.status) for r in rows] == [
        ("chat", "slack", "#incidents", "pending")
    ]
    (row,) = await outbox(ctx)
    assert row.subject == "Investigating: Checkout returns 500"
    assert row.body_text.startswith("We are investigating an issue affecting Checkout.\n\n")
    assert "Impact: Payments fail" in row.body_text
    assert row.body_html is None
    assert row.payload["data"] == {
        "kind": "comms",
        "template": "status-investigating",
        "locale": "en",
    }
    assert row.idempotency_key.startswith(f"comms:{ref}:")
    (event,) = await comms_events(ctx)
    assert event.actor == "dana@example.com"
    assert event.summary == "Sent status-investigating (en) via chat to #incidents"
    after = event.data["after"]
    assert after["template"] == "status-investigating" and after["locale"] == "en"
    assert after["channel"] == "chat" and after["recipients"] == ["#incidents"]
    assert after["fields"] == {"update.customer_impact": "Payments fail"}
    async with ctx.db.read() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "incident.comms", AuditEntry.object_id == ref)
        )
    assert audited == 1


async def test_send_e_mail_to_addresses_and_targets_in_each_persons_locale(
    ctx: Context,
) -> None:
    ref = await setup(ctx)
    async with ctx.db.write() as session:
        rows = await comms.send(
            session,
            SYSTEM,
            ref,
            "customer-email",
            channel="mail",
            to=["customer@example.org", "role:incident-commander", "user:sam", "dana@example.com"],
            update={"summary": "Checkout was down", "data_impact": "No data was lost"},
            clock=ctx.clock,
        )
    assert [r.recipient for r in rows] == [
        "customer@example.org",
        "dana@example.com",
        "sam@example.com",
    ]
    stored = await outbox(ctx)
    by = {r.recipient: r for r in stored}
    assert by["customer@example.org"].body_text.startswith("Dear customer,\n")
    assert by["dana@example.com"].body_text.startswith("Dear Dana Lead,\n")
    assert by["sam@example.com"].body_text.startswith("Beste Sam Oncall,\n")  # his locale
    assert by["sam@example.com"].subject.startswith("Service-update: Checkout returns 500")
    customer = by["customer@example.org"]
    assert "What happened\nCheckout was down\n" in customer.body_text
    assert "Your data\nNo data was lost\n" in customer.body_text
    assert "What it meant for you\n[not known yet: customer impact]\n" in customer.body_text
    assert customer.body_html is not None
    assert "<p>Checkout was down</p>" in customer.body_html
    (event,) = await comms_events(ctx)
    assert event.data["after"]["locale"] == ["en", "nl"]
    assert event.data["after"]["recipients"] == ["customer@example.org", "dana", "sam"]


async def test_send_sms_to_a_team_skips_who_has_no_number(ctx: Context) -> None:
    ref = await setup(ctx)
    async with ctx.db.write() as session:
        rows = await comms.send(
            session,
            SYSTEM,
            ref,
            "incident-update",
            channel="sms",
            to=["team:support", "+31 6 1111 2222"],
            update={"progress": "Rolled back"},
            clock=ctx.clock,
        )
    assert [r.recipient for r in rows] == ["+31687654321", "+31 6 1111 2222"]  # phone serves sms
    (event,) = await comms_events(ctx)
    assert event.summary == (
        "Sent incident-update (en, nl) via sms to sam, +31 6 1111 2222; "
        "not sent: kim (team:support) has no sms address"
    )
    assert event.data["after"]["unreachable"] == ["kim (team:support) has no sms address"]


async def test_apprise_urls_are_not_shown(ctx: Context) -> None:
    ref = await setup(ctx)
    async with ctx.db.write() as session:
        rows = await comms.send(
            session,
            SYSTEM,
            ref,
            "incident-update",
            channel="push",
            to=["tgram://secret-token/123"],
            clock=ctx.clock,
        )
    assert rows[0].recipient == "tgram://secret-token/123"  # the outbox needs it
    (event,) = await comms_events(ctx)
    assert "secret-token" not in str(event.data) + event.summary
    assert event.data["after"]["recipients"] == ["tgram://…"]
    assert comms.shown("tgram://secret-token/123", "apprise") == "tgram://…"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"channel": "mail"},
            "channel 'mail' (email) sends to people: give recipients ('to': an e-mail addresss,",
        ),
        ({"channel": "fax"}, "unknown channel 'fax' (known: chat, hook, mail, push, sms)"),
        (
            {"channel": "chat", "to": ["a@example.com"]},
            "channel 'chat' (slack) posts to its own destination; 'to' is for e-mail, SMS,",
        ),
        (
            {"channel": "mail", "to": ["not-an-address"]},
            "to[0]: 'not-an-address' is not an e-mail address or a target (role:, user:, team:, schedule:) for channel 'mail'",
        ),
        (
            {"channel": "sms", "to": ["role:chef"]},
            "to[0]: unknown role 'chef' (known: comms, incident-commander, on-call)",
        ),
        (
            {"channel": "sms", "to": ["user:kim"]},
            "nobody to send to through 'sms': kim (user:kim) has no sms address",
        ),
        ({"template": "page"}, "template 'page' cannot be sent by hand"),
        ({"template": "nope"}, "no template 'nope'"),
        ({"locale": "de"}, "unknown locale 'de'"),
        ({"update": {"colour": "red"}}, "unknown update field(s) colour"),
    ],
)
async def test_send_refuses_bad_input_and_writes_nothing(
    ctx: Context, kwargs: dict[str, object], message: str
) -> None:
    ref = await setup(ctx)
    kwargs = dict(kwargs)  # the parameters are shared by the SQLite and PostgreSQL runs
    template = str(kwargs.pop("template", "incident-update"))
    async with ctx.db.write() as session:
        with pytest.raises((InvalidInput, NotFound)) as caught:
            await comms.send(session, SYSTEM, ref, template, clock=ctx.clock, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message), str(caught.value)
    assert await outbox(ctx) == [] and await comms_events(ctx) == []


async def test_without_a_chat_channel_a_channel_must_be_named(ctx: Context) -> None:
    ref = await setup(ctx)
    text = comms_policy().replace(
        '  - {key: chat, type: slack, token_env: TOCSIN_TEST_COMMS_SLACK, channel: "#incidents",\n'
        '     base_url: "http://127.0.0.1:9/api/"}\n',
        "",
    )
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, text, clock=ctx.clock, source="nochat.yaml")
    async with ctx.db.write() as session:
        with pytest.raises(InvalidInput, match=r"name a channel: the policy has no chat channel"):
            await comms.send(session, SYSTEM, ref, "incident-update", clock=ctx.clock)


async def test_send_needs_the_permission_standing_or_in_the_incident(ctx: Context) -> None:
    ref = await setup(ctx)
    sam, kim, eve = [await actor_for(ctx, f"{n}@example.com") for n in ("sam", "kim", "eve")]
    async with ctx.db.write() as session:
        with pytest.raises(Forbidden) as caught:
            await comms.send(session, sam, ref, "incident-update", clock=ctx.clock)
        assert caught.value.details == {
            "permission": "send-communications",
            "granted_by_roles": ["comms", "incident-commander"],
        }
        assert len(await comms.send(session, kim, ref, "incident-update", clock=ctx.clock)) == 1
    async with ctx.db.write() as session:
        await incidents.assign_role(session, SYSTEM, ref, "comms", eve.email, clock=ctx.clock)
    async with ctx.db.write() as session:
        assert len(await comms.send(session, eve, ref, "incident-update", clock=ctx.clock)) == 1
    async with ctx.db.read() as session:
        # Anyone who may see the incident may preview.
        assert (await comms.preview(session, sam, ref, "incident-update", clock=ctx.clock)).text


async def test_one_idempotency_key_sends_once(ctx: Context) -> None:
    ref = await setup(ctx)
    sent = []
    for _ in range(2):
        async with ctx.db.write() as session:
            rows = await comms.send(
                session,
                SYSTEM,
                ref,
                "incident-update",
                channel="mail",
                to=["a@example.com", "b@example.com"],
                clock=ctx.clock,
                idempotency_key="update-1",
            )
            sent.append([r.id for r in rows])
    assert sent[0] == sent[1] and len(sent[0]) == 2
    assert len(await outbox(ctx)) == 2
    assert len(await comms_events(ctx)) == 1
    async with ctx.db.write() as session:  # without a key every call sends
        await comms.send(session, SYSTEM, ref, "incident-update", clock=ctx.clock)
        await comms.send(session, SYSTEM, ref, "incident-update", clock=ctx.clock)
    assert len(await outbox(ctx)) == 4


async def test_nothing_is_written_when_the_caller_rolls_back(ctx: Context) -> None:
    ref = await setup(ctx)
    with pytest.raises(RuntimeError):
        async with ctx.db.write() as session:
            await comms.send(session, SYSTEM, ref, "incident-update", clock=ctx.clock)
            raise RuntimeError("the request failed after the send")
    assert await outbox(ctx) == [] and await comms_events(ctx) == []


async def test_an_e_mail_reaches_a_real_smtp_server(ctx: Context) -> None:
    load_handlers()
    with smtp_server() as (port, inbox):
        ref = await setup(ctx, smtp_port=port)
        async with ctx.db.write() as session:
            await comms.send(
                session,
                SYSTEM,
                ref,
                "customer-email",
                channel="mail",
                to=["customer@example.org"],
                update={"summary": "Checkout <was> down"},
                clock=ctx.clock,
            )
        assert isinstance(ctx.clock, VirtualClock)
        await run_until(ctx.db, ctx.clock, ctx.clock.now())
    (mail,) = inbox.messages
    assert mail["To"] == "customer@example.org"
    assert mail["Subject"] == "Service update: Checkout returns 500 (in progress)"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    assert "What happened\nCheckout <was> down" in text.get_content().replace("\r\n", "\n")
    assert "<p>Checkout &lt;was&gt; down</p>" in html.get_content()


# --- addresses -------------------------------------------------------------------------


def test_addresses_of_people_per_channel_kind() -> None:
    policy = load_policy_text(comms_policy())
    handles = ["dana", "sam", "kim", "nobody"]
    assert comms.addresses(policy, handles, "email") == [
        ("dana", "dana@example.com"),
        ("sam", "sam@example.com"),
        ("kim", "kim@example.com"),
    ]
    assert comms.addresses(policy, handles, "sms") == [
        ("dana", "+31612345678"),
        ("sam", "+31687654321"),
    ]
    assert comms.addresses(policy, handles, "voice") == [("sam", "+31687654321")]
    assert comms.addresses(policy, handles, "apprise") == []
    assert comms.addresses(policy, ["dana", "dana@example.com"], "email") == [
        ("dana", "dana@example.com"),
        ("dana@example.com", "dana@example.com"),
    ]
