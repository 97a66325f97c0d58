"""Preview and send an incident's messages from templates.

:func:`preview` renders a template with the incident's real fields (anyone who may see
the incident); :func:`send` renders it and queues it through a channel of the policy
(permission ``send-communications``), one message per recipient, writing a ``comms``
timeline event and an audit row in the caller's transaction. Chat channels and webhooks
post to their own destination; e-mail, SMS, voice and Apprise channels need recipients:
addresses as written, or targets (``role:``, ``user:``, ``team:``, ``schedule:``) that
resolve to people and then to each person's address of the channel's kind
(:func:`addresses`). Templates, channels and permissions come from the current policy.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require
from tocsin.clock import Clock
from tocsin.comms import render
from tocsin.comms.context import incident_context
from tocsin.comms.render import Rendered
from tocsin.errors import InvalidInput
from tocsin.escalation import targets
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentRole
from tocsin.incidents.timeline import log
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.policy import service as policies
from tocsin.policy.checks import check_target
from tocsin.policy.schema import Policy
from tocsin.policy.schema_notify import AnyChannel

PERMISSION = "send-communications"
#: Channels that post to a room of their own (the default is the policy's first of these).
CHAT_KINDS = ("slack", "slack_webhook", "teams")
#: Channels that send to people, so a message needs recipients (``to``).
PERSONAL_KINDS = ("email", "sms", "voice", "apprise")
#: ``to`` entries with these prefixes are targets that resolve to people.
TARGET_KINDS = ("role", "user", "team", "schedule")
#: A person's contact types that serve each personal channel kind, in order of preference.
CONTACT_TYPES: dict[str, tuple[str, ...]] = {
    "sms": ("sms", "phone"),
    "voice": ("voice", "phone"),
    "apprise": ("apprise",),
}
#: Roots a sender may fill in: ``progress=...`` (an update field), ``update.progress=...``
#: or ``notice.reason=...``.
SENDER_ROOTS = ("update", "notice")
#: Templates other parts of Tocsin send with data of their own (a page's acknowledge link).
NOT_SENDABLE = {"page": "a page is sent by escalation, with a personal acknowledge link"}

_LITERAL = {
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "sms": re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$"),
    "voice": re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$"),
    "apprise": re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$"),
}
_WHAT = {
    "email": "an e-mail address",
    "sms": "a phone number",
    "voice": "a phone number",
    "apprise": "an Apprise URL",
}


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    locale: str
    source: str
    description: str


# --- fields a sender supplies ------------------------------------------------------------


def sender_fields(values: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Split ``{"progress": ..., "notice.reason": ...}`` by root; a bare name is an update
    field. A name under another root (``incident.title``) cannot be set by a sender."""
    out: dict[str, dict[str, Any]] = {root: {} for root in SENDER_ROOTS}
    for name, value in (values or {}).items():
        root, dot, rest = name.partition(".")
        if not dot:
            root, rest = "update", name
        if root not in SENDER_ROOTS:
            known = ", ".join(f"{r}.NAME" for r in SENDER_ROOTS)
            raise InvalidInput(
                f"{name!r} cannot be set: a sender fills in {known} (or NAME for update.NAME); "
                f"{root} fields come from the incident",
                details={"field": name},
            )
        out[root][rest] = value
    return out


async def _context(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    values: Mapping[str, Any] | None,
    *,
    clock: Clock,
    public_url: str,
) -> dict[str, Any]:
    given = sender_fields(values)
    return await incident_context(
        session,
        policy,
        incident,
        clock=clock,
        update=given["update"],
        public_url=public_url,
        notice=given["notice"],
        page={},  # a preview of the page template shows its fields as placeholders
    )


# --- reading -----------------------------------------------------------------------------


def _find(policy: Policy, template: str, locale: str | None) -> None:
    """An unknown or missing template or locale is an error before anything else is done."""
    if not template.strip():
        known = ", ".join(sorted({t["key"] for t in render.catalogue(policy)}))
        raise InvalidInput(f"name a template (known: {known})", details={"field": "template"})
    render.find(policy, template, locale)


async def templates(session: AsyncSession) -> list[TemplateInfo]:
    """Every template that can be sent: the built-ins and the current policy's own, per
    locale (a policy template replaces the built-in of the same key and locale)."""
    policy = await policies.current_policy(session)
    return [TemplateInfo(**entry) for entry in render.catalogue(policy)]


async def preview(
    session: AsyncSession,
    actor: Actor,
    ref: str,
    template: str,
    *,
    locale: str | None = None,
    update: Mapping[str, Any] | None = None,
    clock: Clock,
    public_url: str = "",
) -> Rendered:
    """Render ``template`` with the incident's real fields, as :func:`send` would."""
    incident = await incidents.get(session, actor, ref)
    policy = await policies.current_policy(session)
    _find(policy, template, locale)
    context = await _context(session, policy, incident, update, clock=clock, public_url=public_url)
    return render.render(policy, template, context, locale=locale)


# --- addresses ---------------------------------------------------------------------------


def addresses(policy: Policy, handles: Iterable[str], channel_kind: str) -> list[tuple[str, str]]:
    """``(handle, address)`` of each person who has an address for ``channel_kind``: their
    e-mail for ``email``; their first ``sms`` (else ``phone``) contact for ``sms``, ``voice``
    (else ``phone``) for ``voice``, ``apprise`` URL for ``apprise``. People without one are
    left out (compare the handles to see who)."""
    found: list[tuple[str, str]] = []
    for handle in dict.fromkeys(handles):
        person = policy.person(handle)
        if person is None:
            continue
        if channel_kind == "email":
            found.append((handle, person.email))
            continue
        for wanted in CONTACT_TYPES.get(channel_kind, ()):
            contact = next(
                (c for c in person.contacts if c.type == wanted and c.value.strip()), None
            )
            if contact is not None:
                found.append((handle, contact.value.strip()))
                break
    return found


def shown(address: str, kind: str) -> str:
    """How a recipient is shown on the timeline: an Apprise URL carries its token, so
    only its scheme."""
    if kind == "apprise":
        return address.split("://", 1)[0] + "://…"
    return address


@dataclass(frozen=True)
class _Recipient:
    address: str
    handle: str | None = None


async def _recipients(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    channel: AnyChannel,
    to: Sequence[str],
    *,
    clock: Clock,
) -> tuple[list[_Recipient], list[str]]:
    """The recipients of one send, and who could not be reached (and why)."""
    if channel.type not in PERSONAL_KINDS:
        if to:
            raise InvalidInput(
                f"channel {channel.key!r} ({channel.type}) posts to its own destination; "
                f"'to' is for e-mail, SMS, voice and Apprise channels",
                details={"field": "to", "channel": channel.key},
            )
        room = channel.channel if channel.type == "slack" else channel.key
        return [_Recipient(room)], []
    if not to:
        raise InvalidInput(
            f"channel {channel.key!r} ({channel.type}) sends to people: give recipients "
            f"('to': {_WHAT[channel.type]}s, or role:, user:, team:, schedule: targets)",
            details={"field": "to", "channel": channel.key},
        )
    found: dict[str, _Recipient] = {}
    unreachable: list[str] = []
    for j, ref in enumerate(to):
        kind, colon, _ = ref.partition(":")
        if colon and kind in TARGET_KINDS:
            problem = check_target(policy, ref)
            if problem is not None:
                raise InvalidInput(f"to[{j}]: {problem}", details={"field": f"to[{j}]"})
            handles = await targets.resolve(session, policy, incident, ref, clock.now())
            reached = addresses(policy, handles, channel.type)
            for handle, address in reached:
                found.setdefault(address, _Recipient(address, handle))
            missing = sorted(set(handles) - {h for h, _ in reached})
            if not handles:
                unreachable.append(f"{ref} reaches nobody")
            unreachable += [f"{h} ({ref}) has no {channel.type} address" for h in missing]
            continue
        address = ref.strip()
        if not _LITERAL[channel.type].match(address):
            raise InvalidInput(
                f"to[{j}]: {ref!r} is not {_WHAT[channel.type]} or a target "
                f"({', '.join(k + ':' for k in TARGET_KINDS)}) for channel {channel.key!r}",
                details={"field": f"to[{j}]", "value": ref},
            )
        found.setdefault(address, _Recipient(address))
    if not found:
        raise InvalidInput(
            f"nobody to send to through {channel.key!r}: " + "; ".join(unreachable),
            details={"field": "to", "unreachable": unreachable},
        )
    return list(found.values()), unreachable


def _channel(policy: Policy, key: str | None) -> AnyChannel:
    if key is not None:
        return notify.channel(policy, key)
    chat = next((c for c in policy.channels if c.type in CHAT_KINDS), None)
    if chat is None:
        known = ", ".join(c.key for c in policy.channels) or "none defined"
        raise InvalidInput(
            f"name a channel: the policy has no chat channel ({', '.join(CHAT_KINDS)}) to "
            f"send to by default (known channels: {known})",
            details={"field": "channel"},
        )
    return chat


def message_key(ref: str, base: str, channel: str, recipient: str) -> str:
    """One message per (incident, sender's key, channel, recipient)."""
    digest = hashlib.sha256(f"{base}\0{channel}\0{recipient}".encode()).hexdigest()[:40]
    return f"comms:{ref}:{digest}"


# --- sending -----------------------------------------------------------------------------


async def _held_roles(session: AsyncSession, incident: Incident, actor: Actor) -> list[str]:
    if actor.user_id is None:
        return []
    rows = await session.scalars(
        select(IncidentRole.role).where(
            IncidentRole.incident_id == incident.id,
            IncidentRole.user_id == actor.user_id,
            IncidentRole.relieved_at.is_(None),
        )
    )
    return list(rows.all())


async def send(
    session: AsyncSession,
    actor: Actor,
    ref: str,
    template: str,
    *,
    channel: str | None = None,
    to: Sequence[str] = (),
    locale: str | None = None,
    update: Mapping[str, Any] | None = None,
    clock: Clock,
    public_url: str = "",
    idempotency_key: str | None = None,
) -> list[Notification]:
    """Render ``template`` and queue it through ``channel`` (default: the policy's first
    chat channel) to each recipient; never commits.

    A message to a person is in their own locale (``people: locale:``) unless ``locale``
    says otherwise, and addresses them by name unless ``update.recipient_name`` is given.
    The same ``idempotency_key`` sent again queues nothing new and returns what it queued
    the first time; without one every call sends.
    """
    incident = await incidents.get(session, actor, ref)
    policy = await policies.current_policy(session)
    require(policy, actor, PERMISSION, await _held_roles(session, incident, actor))
    if template in NOT_SENDABLE:
        raise InvalidInput(
            f"template {template!r} cannot be sent by hand: {NOT_SENDABLE[template]}",
            details={"template": template},
        )
    if idempotency_key is not None and not 1 <= len(idempotency_key.strip()) <= 200:
        raise InvalidInput(
            "an idempotency key has 1 to 200 characters", details={"field": "idempotency_key"}
        )
    _find(policy, template, locale)
    target = _channel(policy, channel)
    given = sender_fields(update)
    recipients, unreachable = await _recipients(session, policy, incident, target, to, clock=clock)
    base = idempotency_key.strip() if idempotency_key else uuid.uuid4().hex
    keys = [message_key(incident.ref, base, target.key, r.address) for r in recipients]
    replay = await session.scalar(
        select(Notification.id).where(Notification.idempotency_key == keys[0])
    )
    context = await _context(session, policy, incident, update, clock=clock, public_url=public_url)
    rows: list[Notification] = []
    messages: list[dict[str, Any]] = []
    for recipient, key in zip(recipients, keys, strict=True):
        person = policy.person(recipient.handle) if recipient.handle else None
        chosen = locale or (person.locale if person and person.locale else None)
        personal = context
        if person is not None and not given["update"].get("recipient_name"):
            personal = {**context, "update": {**context["update"], "recipient_name": person.name}}
        rendered = render.render(policy, template, personal, locale=chosen)
        row = await notify.queue(
            session,
            channel=target,
            recipient=recipient.address,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html if target.type == "email" else None,
            incident=incident,
            idempotency_key=key,
            clock=clock,
            data={"kind": "comms", "template": template, "locale": rendered.locale},
        )
        rows.append(row)
        messages.append(
            {
                "notification": row.id,
                "to": recipient.handle or shown(recipient.address, target.type),
                "locale": rendered.locale,
            }
        )
    if replay is None:
        await _log_send(
            session, actor, incident, template, target, messages, unreachable, given, clock=clock
        )
    return rows


async def _log_send(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    template: str,
    channel: AnyChannel,
    messages: list[dict[str, Any]],
    unreachable: list[str],
    given: Mapping[str, Mapping[str, Any]],
    *,
    clock: Clock,
) -> None:
    names = ", ".join(str(m["to"]) for m in messages)
    locales = sorted({str(m["locale"]) for m in messages})
    summary = f"Sent {template} ({', '.join(locales)}) via {channel.key} to {names}"
    if unreachable:
        summary += f"; not sent: {'; '.join(unreachable)}"
    await log(
        session,
        actor,
        incident,
        "comms",
        summary,
        clock=clock,
        after={
            "template": template,
            "locale": locales[0] if len(locales) == 1 else locales,
            "channel": channel.key,
            "channel_kind": channel.type,
            "recipients": [m["to"] for m in messages],
            "messages": messages,
            "unreachable": unreachable,
            "fields": {
                f"{root}.{name}": value
                for root, values in given.items()
                for name, value in values.items()
                if value is not None
            },
        },
    )
