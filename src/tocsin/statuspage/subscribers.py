"""Status page subscribers: sign-up with double opt-in, one-click unsubscribe, and the
messages they get through the notification outbox.

A sign-up stores the address unconfirmed and sends it a confirmation link (an e-mail, or
for a webhook a POST carrying the link); only a confirmed subscriber hears of incidents
(created, updated, resolved) and maintenance (started, completed), and only of the
components they chose (none chosen: all). Links carry signed tokens
(:mod:`tocsin.auth.signing`): the confirmation names the sign-up it was sent for, the
unsubscribe link the subscriber; every message carries the unsubscribe link (and e-mail
a ``List-Unsubscribe`` header for mail clients' one-click button).

Messages hold only public data: the public incident's reviewed wording and Statuspage
objects built by :mod:`tocsin.statuspage.public`.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts.ratelimit import RateLimiter
from tocsin.audit import service as audit
from tocsin.auth import signing
from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require
from tocsin.clock import Clock
from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.jobs import service as jobs
from tocsin.notify import service as notify
from tocsin.notify.pages import public_url
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.schema_notify import AnyChannel, WebhookChannel
from tocsin.statuspage import messages, public, schemas
from tocsin.statuspage.models import PublicIncident, PublicUpdate, StatusComponent, Subscriber

#: The job that tells subscribers of one update.
ANNOUNCE = "statuspage.announce"
CONFIRM = "statuspage-confirm"
UNSUBSCRIBE = "statuspage-unsubscribe"
PERMISSION = "update-status-page"
#: Paths of the doors the links lead to (``doors.py``), under ``TOCSIN_PUBLIC_URL``.
CONFIRM_PATH = "/statuspage/confirm"
UNSUBSCRIBE_PATH = "/statuspage/unsubscribe"
#: The events subscribers hear of.
EVENTS = (
    "incident.created",
    "incident.updated",
    "incident.resolved",
    "maintenance.started",
    "maintenance.completed",
)


def _link(path: str, token: str) -> str:
    return f"{public_url().rstrip('/')}{path}?token={token}"


async def unsubscribe_url(session: AsyncSession, row: Subscriber, *, clock: Clock) -> str:
    token = await signing.sign(session, UNSUBSCRIBE, str(row.id), clock=clock)
    return _link(UNSUBSCRIBE_PATH, token)


def _email_channel(policy: Policy) -> AnyChannel | None:
    key = policy.status_page.email_channel
    return notify.channel(policy, key) if key else None


def _webhook_channel(policy: Policy, url: str) -> WebhookChannel:
    """A subscriber's own URL as a webhook channel (signed with the page's secret)."""
    return WebhookChannel(
        key="statuspage-subscribers",
        type="webhook",
        url=url,
        secret_env=policy.status_page.webhook_secret_env,
    )


async def _components_known(session: AsyncSession, keys: Sequence[str]) -> list[str]:
    known = set(
        (
            await session.scalars(
                select(StatusComponent.key).where(StatusComponent.removed_at.is_(None))
            )
        ).all()
    )
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise InvalidInput(
            f"unknown component(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            details={"field": "components", "unknown": unknown},
        )
    return list(dict.fromkeys(keys))


# --- signing up --------------------------------------------------------------------------


def _public_address(url: str) -> None:
    """Refuse a webhook at a name or address of a private network (the host itself, its
    LAN, link-local cloud metadata): anyone may sign up, and Tocsin POSTs to it. A public
    name that resolves to a private address is not caught here."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    try:
        private = not ip_address(host).is_global
    except ValueError:
        private = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    if private or not host:
        raise InvalidInput(
            f"a webhook must be at a public address, not {host or url!r}",
            details={"field": "webhook"},
        )


class TooManySignUps(TocsinError):
    status = 429
    code = "rate_limited"

    def __init__(self, what: str, wait: float) -> None:
        super().__init__(
            f"too many sign-ups from this {what}; try again later",
            details={"limit": what, "retry_after_seconds": round(wait, 3)},
        )
        self.wait = wait


def _limit(
    limiter: RateLimiter, key: tuple[str, str], per_hour: int, what: str, *, clock: Clock
) -> None:
    wait = limiter.take(key, per_hour / 3600.0, per_hour, clock.now())
    if wait:
        raise TooManySignUps(what, wait)


async def sign_up(
    session: AsyncSession,
    data: schemas.SubscribeIn,
    *,
    client_ip: str,
    limiter: RateLimiter,
    clock: Clock,
) -> schemas.SignUpOut:
    """Store a sign-up and send its confirmation link; the answer is the same whether
    the address was new, waiting or subscribed already (it reveals nobody).

    Sign-ups are limited per client IP and per address (``status_page: subscribers:``),
    in this process's memory (``limiter``), so nobody can flood an inbox with
    confirmation requests or fill the table.
    """
    policy = await policies.current_policy(session)
    settings = policy.status_page.subscribers
    kind, address = ("email", data.email) if data.email else ("webhook", data.webhook)
    assert address is not None
    _limit(limiter, ("ip", client_ip), settings.per_ip_per_hour, "client", clock=clock)
    normal = address.strip().lower() if kind == "email" else address.strip()
    _limit(limiter, (kind, normal), settings.per_address_per_hour, "address", clock=clock)
    if kind == "email" and (not settings.email or _email_channel(policy) is None):
        raise InvalidInput(
            "this status page takes no e-mail subscribers", details={"field": "email"}
        )
    if kind == "webhook" and not settings.webhooks:
        raise InvalidInput(
            "this status page takes no webhook subscribers", details={"field": "webhook"}
        )
    address = normal
    if kind == "webhook" and not settings.private_webhooks:
        _public_address(address)
    components = await _components_known(session, data.components)
    now = clock.now()
    query = select(Subscriber).where(Subscriber.kind == kind, Subscriber.address == address)
    row: Subscriber | None = await session.scalar(query)
    if row is None:
        # Two sign-ups of one new address at once: one row, both get a link.
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        await session.execute(
            insert(Subscriber)
            .values(kind=kind, address=address, components=components, created_at=now, generation=1)
            .on_conflict_do_nothing(index_elements=[Subscriber.kind, Subscriber.address])
        )
        row = await session.scalar(query.execution_options(populate_existing=True))
        assert row is not None
    elif row.confirmed_at is not None and row.unsubscribed_at is None:
        # Subscribed already: the new choice of components waits for a new confirmation.
        row.generation += 1
    else:
        row.generation += 1
        row.components, row.created_at = components, now
        row.confirmed_at = row.unsubscribed_at = None
    await session.flush()
    token = await signing.sign(
        session, CONFIRM, f"{row.id}:{row.generation}:{','.join(components)}", clock=clock
    )
    page = public.page_settings(policy)
    text = messages.confirmation(page, _link(CONFIRM_PATH, token))
    channel = _email_channel(policy) if kind == "email" else _webhook_channel(policy, address)
    assert channel is not None
    await notify.queue(
        session,
        channel=channel,
        recipient=address,
        subject=text.subject,
        text=text.body,
        idempotency_key=f"statuspage:confirm:{row.id}:{row.generation}",
        clock=clock,
        data={
            "kind": "statuspage.confirm",
            "confirm_url": _link(CONFIRM_PATH, token),
            "page": {"id": page.id, "name": page.name, "url": page.url},
        },
    )
    return schemas.SignUpOut(message=text.answer)


async def confirm(session: AsyncSession, token: str, *, clock: Clock) -> bool:
    """Confirm the sign-up a link was sent for; a stale or forged link confirms nothing."""
    payload = await signing.verify(session, CONFIRM, token)
    if payload is None:
        return False
    subscriber_id, generation, components = payload.split(":", 2)
    row = await session.get(Subscriber, int(subscriber_id), with_for_update=True)
    if row is None or row.generation != int(generation):
        return False
    if row.confirmed_at is None or row.unsubscribed_at is not None:
        row.confirmed_at = clock.now()
    row.unsubscribed_at = None
    row.components = [c for c in components.split(",") if c]
    await session.flush()
    return True


async def unsubscribe(session: AsyncSession, token: str, *, clock: Clock) -> bool:
    """One click: the subscriber hears nothing more. True when the link was valid."""
    payload = await signing.verify(session, UNSUBSCRIBE, token)
    if payload is None or not payload.isdigit():
        return False
    row = await session.get(Subscriber, int(payload), with_for_update=True)
    if row is None:
        return False
    if row.unsubscribed_at is None:
        row.unsubscribed_at = clock.now()
        await session.flush()
    return True


# --- publishers' view --------------------------------------------------------------------


def _out(row: Subscriber) -> schemas.SubscriberOut:
    return schemas.SubscriberOut(
        id=row.id,
        kind=row.kind,
        address=row.address,
        components=list(row.components),
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        unsubscribed_at=row.unsubscribed_at,
    )


async def list_subscribers(session: AsyncSession, actor: Actor) -> list[schemas.SubscriberOut]:
    require(await policies.current_policy(session), actor, PERMISSION)
    rows = await session.scalars(select(Subscriber).order_by(Subscriber.id))
    return [_out(row) for row in rows.all()]


async def remove_subscriber(
    session: AsyncSession, actor: Actor, subscriber_id: int, *, clock: Clock
) -> schemas.SubscriberOut:
    """Unsubscribe someone (on their request by another way than the link)."""
    require(await policies.current_policy(session), actor, PERMISSION)
    row = await session.get(Subscriber, subscriber_id)
    if row is None:
        raise NotFound(f"no subscriber {subscriber_id}", details={"subscriber": subscriber_id})
    if row.unsubscribed_at is None:
        row.unsubscribed_at = clock.now()
    await audit.record(
        session, actor, "statuspage.subscriber.remove", "subscriber", row.id, clock=clock
    )
    return _out(row)


# --- telling subscribers -----------------------------------------------------------------


def _interested(row: Subscriber, incident: PublicIncident) -> bool:
    return (
        not row.components
        or not incident.components
        or bool(set(row.components) & set(incident.components))
    )


async def announce_later(
    session: AsyncSession, update: PublicUpdate, event: str, *, clock: Clock
) -> None:
    """Tell subscribers of ``update`` in a job of its own (written in the caller's
    transaction): a page with many subscribers publishes as fast as one with none."""
    await jobs.enqueue(
        session,
        ANNOUNCE,
        {"update": update.id, "event": event},
        clock=clock,
        dedup_key=f"statuspage:announce:{update.public_id}:{event}",
    )


async def announce_update(
    session: AsyncSession, update_id: int, event: str, *, clock: Clock
) -> int:
    """The ``statuspage.announce`` job's work."""
    update = await session.get(PublicUpdate, update_id)
    incident = await session.get(PublicIncident, update.incident_id) if update else None
    if update is None or incident is None:
        return 0
    return await announce(session, incident, update, event, clock=clock)


async def announce(
    session: AsyncSession,
    incident: PublicIncident,
    update: PublicUpdate,
    event: str,
    *,
    clock: Clock,
) -> int:
    """Queue one message per confirmed subscriber who follows the incident's components;
    the number queued. Idempotent per (update, subscriber)."""
    policy = await policies.current_policy(session)
    page = public.page_settings(policy)
    query = select(Subscriber).where(
        Subscriber.confirmed_at.is_not(None), Subscriber.unsubscribed_at.is_(None)
    )
    wanted = [row for row in (await session.scalars(query)).all() if _interested(row, incident)]
    if not wanted:
        return 0
    document = await public.incident_document(session, incident, page)
    email = _email_channel(policy)
    count = 0
    for row in wanted:
        channel = email if row.kind == "email" else _webhook_channel(policy, row.address)
        if channel is None:
            continue  # e-mail subscribers, but the policy names no e-mail channel any more
        leave = await unsubscribe_url(session, row, clock=clock)
        text = messages.notice(page, incident, update, event, leave)
        kind = "maintenance" if incident.kind == "maintenance" else "incident"
        await notify.queue(
            session,
            channel=channel,
            recipient=row.address,
            subject=text.subject,
            text=text.body,
            idempotency_key=f"statuspage:{update.public_id}:{event}:{row.id}",
            clock=clock,
            data={
                "kind": "statuspage." + event,
                "list_unsubscribe": leave,
                "meta": {"unsubscribe": leave, "event": event},
                "page": {"id": page.id, "name": page.name, "url": page.url},
                kind: document,
            },
        )
        count += 1
    return count
