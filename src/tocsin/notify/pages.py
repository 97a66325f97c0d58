"""Pages and notices: what the escalation engine's effects send to people.

A **page** (:func:`page`) reaches each paged person through their personal notification
rules (``people: notify:``; by default every contact they can be paged on, and their
e-mail, at once). Rules due at once are queued now, in the engine's transaction; a later
rule (``voice`` at ``2m``) is a ``notify.page_rule`` job that sends only if the incident is
still unacknowledged (and open) when it comes due. Each contact goes through the policy's
first channel that can carry it (an SMS or phone number through an ``sms`` channel, ...),
or through the channel the rule names. Every page message lets the person acknowledge:
rendered per kind of channel (``page.channel``), the built-in template gives SMS and
voice the reply code and everything else (e-mail, chat, push) the acknowledge link; one
:class:`~tocsin.notify.models.AckToken` per person per page, signed with
:mod:`tocsin.auth.signing`.

A **notice** (:func:`notice`; notify steps, reminders, SLA warnings and breaches,
escalations, tasks) is one message per person to their first e-mail or chat contact, with
the ``reminder`` template when there is one; no personal rules, no acknowledge link.

Nothing is silent: a person who cannot be reached (no contact of the kind a rule names, no
channel that carries it) gets a ``page_not_sent`` / ``notice_not_sent`` timeline event
saying why. Every message has an idempotency key made of the incident, the effect that
caused it, the person, the channel and the recipient, so a job that runs again never
sends twice. Services never commit: all of this happens in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth import signing
from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.comms.context import incident_context
from tocsin.comms.render import Rendered, render
from tocsin.errors import InvalidInput, NotFound
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.notify import service as notify
from tocsin.notify.models import AckToken
from tocsin.policy import service as policies
from tocsin.policy.checks_notify_rules import CARRIERS, carriers_for, contacts_for
from tocsin.policy.schema import Contact, Person, Policy
from tocsin.policy.schema_comms import NotifyRule
from tocsin.policy.schema_notify import AnyChannel, SlackChannel
from tocsin.policy.spans import Span, format_timedelta
from tocsin.settings import Settings

#: The job that sends a personal rule due after the page (``voice`` at ``2m``).
PAGE_RULE_JOB = "notify.page_rule"
#: What acknowledge links are signed for (see :mod:`tocsin.auth.signing`).
ACK_PURPOSE = "ack"
#: Effects that page (with rules and an acknowledge link) and those that tell.
PAGE_KINDS = ("page",)
NOTICE_KINDS = ("notify", "reminder", "sla_warning", "sla_breach", "escalate", "task")

#: Contact types a notice may go to, in the order of the person's contacts.
NOTICE_CONTACTS = ("email", "slack", "teams")
PHONE_TYPES = ("phone", "sms", "voice")
CODE_DIGITS = 6


# --- planning: pure ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One message a rule asks for: a recipient through a channel, or why it cannot be."""

    via: str
    recipient: str
    channel: AnyChannel | None = None
    problem: str | None = None


def span_length(span: Span) -> timedelta:
    """A span as clock time (a business day counts as a day: rules are clock time)."""
    return span.time + timedelta(days=span.business_days)


def normalize_phone(value: str) -> str:
    """``+1 (555) 010-1`` → ``+15550101``: how numbers are stored and compared."""
    return re.sub(r"[\s().\-/]", "", value.strip())


def default_rules(person: Person) -> list[NotifyRule]:
    """Without rules of their own: every contact a page can reach, and e-mail, at once."""
    types = [t for t in dict.fromkeys(c.type for c in person.contacts) if t in CARRIERS]
    if "email" not in types:
        types.insert(0, "email")
    return [NotifyRule(via=t) for t in types]


def rules_of(person: Person) -> list[NotifyRule]:
    return list(person.notify) or default_rules(person)


def channel_for(
    policy: Policy, carriers: Sequence[str], named: str | None
) -> tuple[AnyChannel | None, str | None]:
    """The channel (or the problem): the one named, if it fits, else the policy's first of
    the preferred type."""
    if named is not None:
        found = next((c for c in policy.channels if c.key.lower() == named.lower()), None)
        if found is None:
            return None, f"the policy has no channel {named!r}"
        if found.type not in carriers:
            return None, f"channel {found.key!r} is {found.type} and cannot carry it"
        return found, None
    for kind in carriers:
        found = next((c for c in policy.channels if c.type == kind), None)
        if found is not None:
            return found, None
    return None, f"the policy has no {' or '.join(carriers)} channel"


def targets_of(policy: Policy, person: Person, rule: NotifyRule) -> list[Target]:
    """The messages one rule of ``person`` asks for, each with its channel or its problem."""
    contacts = contacts_for(person, rule.via)
    if not contacts:
        return [Target(rule.via, "", problem=f"no {rule.via!r} contact")]
    out = []
    for contact in contacts:
        carriers = carriers_for(rule.via, contact)
        if not carriers:
            out.append(Target(rule.via, contact.value, problem=f"cannot page a {contact.type}"))
            continue
        channel, problem = channel_for(policy, carriers, rule.channel)
        recipient = contact.value.strip()
        if contact.type in PHONE_TYPES:
            recipient = normalize_phone(recipient)
        if isinstance(channel, SlackChannel):
            # A person's Slack contact is a user or DM channel ID: post there.
            channel = channel.model_copy(update={"channel": recipient})
        out.append(Target(rule.via, recipient, channel, problem))
    return out


def notice_target(policy: Policy, person: Person) -> Target:
    """Where a notice to ``person`` goes: their first e-mail or chat contact that a channel
    carries, else their e-mail."""
    candidates = [c for c in person.contacts if c.type in NOTICE_CONTACTS]
    candidates.append(Contact(type="email", value=person.email))
    problems = []
    for contact in candidates:
        channel, problem = channel_for(policy, CARRIERS[contact.type], None)
        if channel is None:
            problems.append(problem or "")
            continue
        if isinstance(channel, SlackChannel):
            channel = channel.model_copy(update={"channel": contact.value.strip()})
        return Target(contact.type, contact.value.strip(), channel)
    return Target("email", person.email, problem="; ".join(dict.fromkeys(problems)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def message_key(kind: str, incident: Incident, cause: str, handle: str, target: Target) -> str:
    """One message per (incident, cause, person, channel, recipient)."""
    assert target.channel is not None
    return (
        f"{kind}:{incident.id}:{cause}:{handle}:{target.channel.key}:{_digest(target.recipient)}"[
            :255
        ]
    )


# --- acknowledge tokens --------------------------------------------------------------


def token_payload(token: AckToken) -> str:
    """What an acknowledge link signs: the token's id and its expiry (Unix seconds)."""
    return f"{token.id}.{int(token.expires_at.timestamp())}"


async def ack_url(session: AsyncSession, token: AckToken, *, public_url: str, clock: Clock) -> str:
    signed = await signing.sign(session, ACK_PURPOSE, token_payload(token), clock=clock)
    return f"{public_url.rstrip('/')}/ack/{signed}"


async def _fresh_code(session: AsyncSession, recipient: str, now: datetime) -> str:
    """A random reply code no other live token of ``recipient`` has."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        clash = await session.scalar(
            select(AckToken.id).where(
                AckToken.recipient == recipient,
                AckToken.code == code,
                AckToken.used_at.is_(None),
                AckToken.expires_at > now,
            )
        )
        if clash is None:
            return code


async def new_token(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    handle: str,
    recipient: str,
    *,
    clock: Clock,
) -> AckToken:
    """A fresh acknowledge token for ``handle`` (valid ``notifications.ack_valid_for``)."""
    now = clock.now()
    token = AckToken(
        incident_id=incident.id,
        person=handle[:64],
        recipient=recipient[:500],
        code=await _fresh_code(session, recipient[:500], now),
        created_at=now,
        expires_at=now + span_length(policy.notifications.ack_valid_for),
    )
    session.add(token)
    await session.flush()
    return token


# --- sending -------------------------------------------------------------------------


def public_url() -> str:
    """Where people reach this Tocsin (``TOCSIN_PUBLIC_URL``): links start with it."""
    return Settings().public_url


class _Context:
    """The incident's template fields, built once per effect, when first needed."""

    def __init__(self, policy: Policy, incident: Incident, clock: Clock, url: str) -> None:
        self.policy, self.incident, self.clock, self.url = policy, incident, clock, url
        self._fields: dict[str, Any] | None = None

    async def fields(self, session: AsyncSession) -> dict[str, Any]:
        if self._fields is None:
            self._fields = await incident_context(
                session, self.policy, self.incident, clock=self.clock, public_url=self.url
            )
        return self._fields


def _plain_page(incident: Incident, reason: str, url: str, code: str, channel: str) -> Rendered:
    subject = f"[{incident.severity}] {incident.ref}: {incident.title}"
    if channel == "sms":
        how = f"Reply {code} to this SMS to acknowledge."
    elif channel == "voice":
        how = f"To acknowledge, text the code {' '.join(code)} to this number."
    else:
        how = f"Acknowledge: {url}"
    return Rendered(
        template="page", locale="en", subject=subject, text=f"{subject}\n{reason}\n{how}\n"
    )


async def _render_page(
    session: AsyncSession,
    context: _Context,
    person: Person,
    reason: str,
    url: str,
    code: str,
    channel: str,
) -> Rendered:
    """The page for one kind of channel (``page.channel``): the built-in shows the reply
    code in SMS and calls and the link everywhere else."""
    fields = await context.fields(session)
    page_fields = {"reason": reason, "ack_url": url, "ack_code": code, "channel": channel}
    try:
        return render(context.policy, "page", {**fields, "page": page_fields}, locale=person.locale)
    except (InvalidInput, NotFound):
        # A page must go out even if the policy's own template is broken.
        return _plain_page(context.incident, reason, url, code, channel)


async def _send_page(
    session: AsyncSession,
    context: _Context,
    person: Person,
    targets: Sequence[Target],
    token: AckToken,
    reason: str,
    *,
    cause: str,
) -> int:
    """Queue the page to each target that has a channel; how many were queued."""
    sendable = [t for t in targets if t.channel is not None]
    if not sendable:
        return 0
    clock = context.clock
    url = await ack_url(session, token, public_url=context.url, clock=clock)
    by_kind: dict[str, Rendered] = {}
    for target in sendable:
        assert target.channel is not None
        kind = target.channel.type
        if kind not in by_kind:
            by_kind[kind] = await _render_page(
                session, context, person, reason, url, token.code, kind
            )
        rendered = by_kind[kind]
        await notify.queue(
            session,
            channel=target.channel,
            recipient=target.recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            incident=context.incident,
            idempotency_key=message_key("page", context.incident, cause, person.handle, target),
            clock=clock,
            data={
                "kind": "page",
                "person": person.handle,
                "reason": reason,
                "ack_url": url,
                "ack_code": token.code,
            },
            person=person.handle,
        )
    return len(sendable)


def _problems(targets: Sequence[Target]) -> list[str]:
    return [f"{t.via}: {t.problem}" for t in targets if t.problem]


async def _not_sent(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    problems: dict[str, list[str]],
    *,
    clock: Clock,
    cause: str,
) -> None:
    """One timeline event naming who could not be reached, through what, and why."""
    if not problems:
        return
    what = "Page" if kind == "page_not_sent" else "Notice"
    parts = [f"{who} ({'; '.join(why)})" for who, why in problems.items()]
    await log(
        session,
        ENGINE,
        incident,
        kind,
        f"{what} not sent to {', '.join(parts)}",
        clock=clock,
        after={"not_sent": problems, "cause": cause},
        audited=False,
    )


def _token_recipient(person: Person, targets: Sequence[Target]) -> str:
    """The address a token's SMS code is matched with: the first SMS number paged, else
    the first address paged, else the e-mail."""
    for target in targets:
        if target.channel is not None and target.channel.type == "sms":
            return target.recipient
    first = next((t.recipient for t in targets if t.channel is not None), None)
    return first or person.email


async def page(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    handles: Sequence[str],
    reason: str,
    *,
    clock: Clock,
    public_url: str,
    cause: str,
) -> None:
    """Page ``handles`` for ``incident`` through their personal rules (see the module).

    ``cause`` names what paged them (the effect's timeline event), for idempotency keys.
    Flushes, never commits.
    """
    context = _Context(policy, incident, clock, public_url)
    problems: dict[str, list[str]] = {}
    for handle in dict.fromkeys(handles):
        person = policy.person(handle)
        if person is None:
            problems[handle] = ["not in the policy's people"]
            continue
        planned = [
            (j, rule, targets_of(policy, person, rule)) for j, rule in enumerate(rules_of(person))
        ]
        everything = [t for _, _, targets in planned for t in targets]
        if not any(t.channel is not None for t in everything):
            problems[person.handle] = _problems(everything) or ["no contact to page"]
            continue
        token = await new_token(
            session,
            policy,
            incident,
            person.handle,
            _token_recipient(person, everything),
            clock=clock,
        )
        for j, rule, targets in planned:
            delay = span_length(rule.after)
            if delay > timedelta(0):
                await _schedule_rule(
                    session, incident, person, j, rule, token, reason, cause=cause, clock=clock
                )
                continue
            await _send_page(session, context, person, targets, token, reason, cause=cause)
            if _problems(targets):
                problems.setdefault(person.handle, []).extend(_problems(targets))
    await _not_sent(session, incident, "page_not_sent", problems, clock=clock, cause=cause)


async def _schedule_rule(
    session: AsyncSession,
    incident: Incident,
    person: Person,
    index: int,
    rule: NotifyRule,
    token: AckToken,
    reason: str,
    *,
    cause: str,
    clock: Clock,
) -> None:
    due = token.created_at + span_length(rule.after)
    await jobs.enqueue(
        session,
        PAGE_RULE_JOB,
        {
            "incident": incident.id,
            "person": person.handle,
            "rule": index,
            "spec": rule.model_dump(mode="json"),
            "token": token.id,
            "reason": reason,
            "cause": cause,
        },
        clock=clock,
        due_at=due,
        dedup_key=f"page_rule:{incident.id}:{cause}:{person.handle}:{index}"[:255],
    )


@handler(PAGE_RULE_JOB)
async def page_rule(session: AsyncSession, job: Job, clock: Clock) -> None:
    """A personal rule due after the page: sent only while nobody has acknowledged."""
    payload = job.payload
    incident = await session.get(Incident, payload["incident"])
    if incident is None or incident.acknowledged_at is not None:
        return
    if incident.status in ("resolved", "closed"):
        return
    token = await session.get(AckToken, payload["token"])
    if token is None:
        return
    policy = await policies.current_policy(session)
    person = policy.person(payload["person"])
    cause = f"{payload['cause']}:r{payload['rule']}"
    if person is None:
        problems = {payload["person"]: ["not in the policy's people"]}
        await _not_sent(session, incident, "page_not_sent", problems, clock=clock, cause=cause)
        return
    rule = NotifyRule.model_validate(payload["spec"])
    targets = targets_of(policy, person, rule)
    context = _Context(policy, incident, clock, public_url())
    late = f"{payload['reason']} (still not acknowledged after {format_timedelta(span_length(rule.after))})"
    await _send_page(session, context, person, targets, token, late, cause=cause)
    issues = _problems(targets)
    if issues:
        await _not_sent(
            session, incident, "page_not_sent", {person.handle: issues}, clock=clock, cause=cause
        )


def _plain_notice(incident: Incident, kind: str, reason: str, url: str | None) -> Rendered:
    label = kind.replace("_", " ")
    subject = f"[{incident.severity}] {incident.ref}: {label}"
    text = f"{incident.ref}: {incident.title}\n{reason}\n" + (f"{url}\n" if url else "")
    return Rendered(template="notice", locale="en", subject=subject, text=text)


async def notice(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    kind: str,
    handles: Sequence[str],
    reason: str,
    *,
    clock: Clock,
    public_url: str,
    cause: str,
) -> None:
    """Tell ``handles`` about ``incident`` (a reminder, a warning, a notice): one message
    each to their first e-mail or chat contact. Flushes, never commits."""
    context = _Context(policy, incident, clock, public_url)
    problems: dict[str, list[str]] = {}
    for handle in dict.fromkeys(handles):
        person = policy.person(handle)
        if person is None:
            problems[handle] = ["not in the policy's people"]
            continue
        target = notice_target(policy, person)
        if target.channel is None:
            problems[person.handle] = [target.problem or "no contact"]
            continue
        fields = await context.fields(session)
        try:
            rendered = render(
                policy, "reminder", {**fields, "notice": {"reason": reason}}, locale=person.locale
            )
        except (InvalidInput, NotFound):
            rendered = _plain_notice(incident, kind, reason, fields["incident"].get("url"))
        await notify.queue(
            session,
            channel=target.channel,
            recipient=target.recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            incident=incident,
            idempotency_key=message_key("notice", incident, cause, person.handle, target),
            clock=clock,
            data={"kind": kind, "person": person.handle, "reason": reason},
        )
    await _not_sent(session, incident, "notice_not_sent", problems, clock=clock, cause=cause)


async def on_effect(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    kind: str,
    handles: Sequence[str],
    reason: str,
    *,
    clock: Clock,
    cause: str,
) -> None:
    """What the escalation engine calls for each effect it records (``escalation/effects``)."""
    if not handles:
        return
    if kind in PAGE_KINDS:
        await page(
            session,
            policy,
            incident,
            handles,
            reason,
            clock=clock,
            public_url=public_url(),
            cause=cause,
        )
    elif kind in NOTICE_KINDS:
        await notice(
            session,
            policy,
            incident,
            kind,
            handles,
            reason,
            clock=clock,
            public_url=public_url(),
            cause=cause,
        )
