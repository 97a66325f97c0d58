"""Acknowledging from a page: the signed link and the SMS reply code.

Each page carries one :class:`~tocsin.notify.models.AckToken` per paged person (see
:mod:`tocsin.notify.pages`): a link ``{public_url}/ack/<signed id and expiry>`` and a
six-digit code to reply by SMS. Using either one acknowledges the incident **as the paged
person** (having been paged for it is enough: see ``incidents.service._for_change``), with
``via`` ``link`` or ``sms`` on the timeline and in the audit log, exactly as any other
acknowledgement.

A token works once: it is claimed by one conditional ``UPDATE … WHERE used_at IS NULL``
in the caller's transaction, so of two concurrent uses one wins and the other is told
the token was already used. A forged or tampered link (400), an expired one (410) and a
used one (409) are refused and change nothing. An incident someone else acknowledged
first is reported (who, when, how), and the token is left unused. Services never commit:
the request owns the transaction, and a refusal rolls everything back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth import service as auth
from tocsin.auth import signing
from tocsin.auth.models import User
from tocsin.clock import Clock
from tocsin.comms.context import format_time
from tocsin.errors import TocsinError
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.notify.models import AckToken
from tocsin.notify.pages import ACK_PURPOSE, CODE_DIGITS, PHONE_TYPES, normalize_phone
from tocsin.policy import service as policies
from tocsin.policy.schema import Person, Policy
from tocsin.policy.schema_notify import SmsChannel

Via = Literal["link", "sms"]


class AckRefused(TocsinError):
    """A link or code that cannot acknowledge anything; nothing was changed."""


def invalid_link() -> AckRefused:
    return AckRefused(
        "this acknowledge link is not valid: it was not made by this Tocsin or was changed",
        code="ack_link_invalid",
        status=400,
    )


def _shown(moment: datetime | None, zone: str) -> str:
    return format_time(moment, zone) or "an unknown time"


def expired(token: AckToken, zone: str = "UTC") -> AckRefused:
    return AckRefused(
        f"this acknowledgement expired at {_shown(token.expires_at, zone)}",
        code="ack_expired",
        status=410,
        details={"expired_at": token.expires_at.isoformat()},
    )


def used(token: AckToken, zone: str = "UTC") -> AckRefused:
    how = f" via {_VIA_NAMES.get(token.used_via or '', token.used_via)}" if token.used_via else ""
    return AckRefused(
        f"this acknowledgement was already used at {_shown(token.used_at, zone)}{how}",
        code="ack_used",
        status=409,
        details={
            "used_at": token.used_at.isoformat() if token.used_at else None,
            "used_via": token.used_via,
        },
    )


#: How each door reads in a sentence ("used … via the link in the page").
_VIA_NAMES = {
    "link": "the link in the page",
    "sms": "an SMS reply",
    "api": "the API",
    "cli": "the CLI",
}


def unknown_code() -> AckRefused:
    return AckRefused(
        "unknown reply code for this number", code="ack_code_unknown", status=404, details=None
    )


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged the incident, when and how (``via`` may be unknown)."""

    by: str
    at: datetime
    via: str | None


@dataclass(frozen=True)
class AckState:
    """What a token is for and where its incident stands."""

    token: AckToken
    incident: Incident
    #: The paged person's name (their handle if they left the policy).
    person: str
    #: The organisation's time zone, for showing times.
    timezone: str
    #: Set when the incident is acknowledged already.
    acknowledged: Acknowledgement | None


@dataclass(frozen=True)
class Outcome:
    """The answer to using a token: ``acknowledged`` now, or ``already_acknowledged``."""

    outcome: Literal["acknowledged", "already_acknowledged"]
    state: AckState
    acknowledgement: Acknowledgement


# --- reading tokens --------------------------------------------------------------------


async def token_from_link(session: AsyncSession, text: str) -> AckToken:
    """The token a link names, if its signature holds, else :func:`invalid_link`."""
    if len(text) > 512:
        raise invalid_link()
    payload = await signing.verify(session, ACK_PURPOSE, text)
    if payload is None:
        raise invalid_link()
    id_text, _, expiry = payload.partition(".")
    if not (id_text.isdigit() and expiry.isdigit()) or len(id_text) > 12:
        raise invalid_link()
    token = await session.get(AckToken, int(id_text), populate_existing=True)
    if token is None or int(token.expires_at.timestamp()) != int(expiry):
        raise invalid_link()
    return token


def _check_usable(token: AckToken, now: datetime, zone: str) -> None:
    if token.used_at is not None:
        raise used(token, zone)
    if token.expires_at <= now:
        raise expired(token, zone)


async def _zone(session: AsyncSession) -> str:
    """Times on these pages read in the organisation's zone."""
    return (await policies.current_policy(session)).organization.timezone


async def _person(session: AsyncSession, incident: Incident, handle: str) -> Person | None:
    """The paged person in the current policy, else in the incident's own version."""
    current = await policies.current_policy(session)
    found = current.person(handle)
    if found is None:
        found = (await incidents.incident_policy(session, incident)).person(handle)
    return found


async def _acknowledgement(session: AsyncSession, incident: Incident) -> Acknowledgement | None:
    if incident.acknowledged_at is None:
        return None
    user = (
        await session.get(User, incident.acknowledged_by_id)
        if incident.acknowledged_by_id is not None
        else None
    )
    event = await session.scalar(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "acknowledged")
        .order_by(IncidentEvent.id.desc())
        .limit(1)
    )
    via = event.data.get("after", {}).get("via") if event is not None else None
    who = user.name if user is not None else (event.actor if event is not None else "someone")
    return Acknowledgement(by=who, at=incident.acknowledged_at, via=via)


async def _state(
    session: AsyncSession, token: AckToken, *, lock: bool = False
) -> tuple[AckState, Person | None]:
    incident = await session.get(
        Incident, token.incident_id, with_for_update=lock, populate_existing=True
    )
    assert incident is not None  # a foreign key
    person = await _person(session, incident, token.person)
    state = AckState(
        token=token,
        incident=incident,
        person=person.name if person is not None else token.person,
        timezone=await _zone(session),
        acknowledged=await _acknowledgement(session, incident),
    )
    return state, person


async def inspect(session: AsyncSession, link: str, *, clock: Clock) -> AckState:
    """What ``GET /ack/{link}`` shows; read-only. Refuses forged, used and expired links."""
    token = await token_from_link(session, link)
    _check_usable(token, clock.now(), await _zone(session))
    state, _ = await _state(session, token)
    return state


# --- using tokens ----------------------------------------------------------------------


async def _use(session: AsyncSession, token: AckToken, via: Via, *, clock: Clock) -> Outcome:
    now = clock.now()
    zone = await _zone(session)
    _check_usable(token, now, zone)
    # Lock the incident first, so a concurrent acknowledgement through another door
    # either comes before (and we report it) or after (and finds ours).
    state, person = await _state(session, token, lock=True)
    # Read the token again under the lock: a use that committed meanwhile shows now.
    await session.refresh(token)
    _check_usable(token, now, zone)
    if state.acknowledged is not None:
        return Outcome("already_acknowledged", state, state.acknowledged)
    user = await auth.user_by_email(session, person.email) if person is not None else None
    if user is None or not user.active:
        raise AckRefused(
            f"{state.person} has no active account here to acknowledge with",
            code="ack_no_user",
            status=403,
            details={"person": token.person},
        )
    claimed = await session.execute(
        update(AckToken)
        .where(AckToken.id == token.id, AckToken.used_at.is_(None), AckToken.expires_at > now)
        .values(used_at=now, used_via=via)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        fresh = await session.get(AckToken, token.id, populate_existing=True)
        assert fresh is not None
        _check_usable(fresh, now, zone)
        raise used(fresh, zone)  # pragma: no cover - the checks above name the reason
    incident = await incidents.acknowledge(
        session, auth.actor_for(user), state.incident.ref, clock=clock, via=via
    )
    assert incident.acknowledged_at is not None
    await session.refresh(token)
    done = Acknowledgement(by=user.name, at=incident.acknowledged_at, via=via)
    return Outcome("acknowledged", AckState(token, incident, state.person, zone, done), done)


async def acknowledge_link(session: AsyncSession, link: str, *, clock: Clock) -> Outcome:
    """``POST /ack/{link}``: acknowledge as the paged person, once."""
    token = await token_from_link(session, link)
    return await _use(session, token, "link", clock=clock)


def reply_code(body: str) -> str | None:
    """The six-digit code in an SMS reply (``123456``, ``ack 123456``, ``123 456``)."""
    found = re.search(rf"(?<!\d)\d{{{CODE_DIGITS}}}(?!\d)", body)
    if found:
        return found.group(0)
    digits = re.sub(r"\D", "", body)
    return digits if len(digits) == CODE_DIGITS else None


def _numbers(person: Person | None) -> set[str]:
    if person is None:
        return set()
    return {normalize_phone(c.value) for c in person.contacts if c.type in PHONE_TYPES}


async def token_for_reply(
    session: AsyncSession, policy: Policy, sender: str, body: str, *, clock: Clock
) -> AckToken:
    """The live token an SMS reply names: its code, sent from the number paged (or one of
    the paged person's numbers). Refuses unknown, used and expired codes."""
    code = reply_code(body)
    if code is None:
        raise unknown_code()
    number = normalize_phone(sender)
    rows = list(
        await session.scalars(
            select(AckToken).where(AckToken.code == code).order_by(AckToken.id.desc()).limit(50)
        )
    )
    mine = [
        t
        for t in rows
        if normalize_phone(t.recipient) == number or number in _numbers(policy.person(t.person))
    ]
    if not mine:
        raise unknown_code()
    now = clock.now()
    live = [t for t in mine if t.used_at is None and t.expires_at > now]
    if live:
        return live[0]
    _check_usable(mine[0], now, policy.organization.timezone)
    raise unknown_code()  # pragma: no cover - _check_usable raised


async def acknowledge_reply(
    session: AsyncSession, sender: str, body: str, *, clock: Clock
) -> Outcome:
    """An SMS reply with a code: acknowledge as the paged person, once."""
    policy = await policies.current_policy(session)
    token = await token_for_reply(session, policy, sender, body, clock=clock)
    return await _use(session, token, "sms", clock=clock)


# --- Twilio's inbound webhook ----------------------------------------------------------


def twilio_signature(url: str, params: Sequence[tuple[str, str]], auth_token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 of HMAC-SHA1, keyed with the auth token, of
    the full URL followed by each POST parameter's name and value, sorted by name (and
    each name's values sorted)."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with it (Twilio signs either)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.username or parts.password:
        return [url]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    without = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{port}"))
    return list(dict.fromkeys([url, without, with_port]))


def twilio_signed(
    url: str, params: Sequence[tuple[str, str]], signature: str, auth_tokens: Sequence[str]
) -> bool:
    """Whether ``signature`` is Twilio's for this request under any of ``auth_tokens``."""
    if not signature:
        return False
    given = signature.strip().encode()
    return any(
        hmac.compare_digest(twilio_signature(variant, params, token).encode(), given)
        for token in auth_tokens
        for variant in _url_variants(url)
    )


async def sms_auth_tokens(
    session: AsyncSession, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The auth tokens of the policy's SMS channels (from their environment variables)."""
    policy = await policies.current_policy(session)
    env = os.environ if environ is None else environ
    names = [c.auth_token_env for c in policy.channels if isinstance(c, SmsChannel)]
    return [env[name] for name in names if env.get(name)]


async def inbound_trusted(
    session: AsyncSession,
    url: str,
    params: Sequence[tuple[str, str]],
    signature: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Whether an inbound SMS webhook really comes from the SMS provider. Read-only."""
    return twilio_signed(url, params, signature, await sms_auth_tokens(session, environ))
