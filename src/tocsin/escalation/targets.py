"""Who a target such as ``schedule:primary`` or ``role:incident-commander`` reaches, now.

People come back as handles (``dana``): the policy's ``key``, else the e-mail's local part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.models import User
from tocsin.errors import NotFound
from tocsin.incidents.models import Incident, IncidentRole
from tocsin.oncall import service as oncall
from tocsin.policy.schema import Person, Policy


def handle_of(policy: Policy, email: str) -> str:
    person = policy.person(email)
    return person.handle if person else email.split("@", 1)[0].lower()


async def _role_holders(session: AsyncSession, incident: Incident, role: str) -> list[str]:
    rows = await session.execute(
        select(User.email)
        .join(IncidentRole, IncidentRole.user_id == User.id)
        .where(
            IncidentRole.incident_id == incident.id,
            IncidentRole.role == role,
            IncidentRole.relieved_at.is_(None),
        )
        .order_by(IncidentRole.assumed_at)
    )
    return [email for (email,) in rows]


async def resolve(
    session: AsyncSession, policy: Policy, incident: Incident, ref: str, at: datetime
) -> list[str]:
    """The handles ``ref`` reaches at ``at``; a channel reaches nobody in person.

    ``role:X`` means whoever holds X on the incident, else everyone with X as a standing
    role in the policy (seed 003's engineering manager is paged, not assigned).
    """
    kind, _, key = ref.partition(":")
    if kind == "role":
        holders = await _role_holders(session, incident, key)
        if holders:
            return _unique(handle_of(policy, email) for email in holders)
        return [p.handle for p in policy.people if key in p.roles]
    if kind == "user":
        return [handle_of(policy, key) if "@" in key else key]
    if kind == "schedule":
        try:
            return list(await oncall.on_call(session, policy, key, at))
        except NotFound:  # the schedule left the policy after the ladder was snapshotted
            return []
    if kind == "team":
        return [p.handle for p in policy.people if key in p.teams]
    return []


async def resolve_all(
    session: AsyncSession, policy: Policy, incident: Incident, refs: Sequence[str], at: datetime
) -> list[str]:
    found: list[str] = []
    for ref in refs:
        found += await resolve(session, policy, incident, ref, at)
    return _unique(found)


def contact_methods(policy: Policy, handles: Iterable[str]) -> list[str]:
    """How the people can be reached, from their contacts in the policy (e-mail at least)."""
    methods: set[str] = set()
    for handle in handles:
        person: Person | None = policy.person(handle)
        types = {c.type for c in person.contacts} if person else set()
        methods |= (types & _PAGEABLE) or {"email"}
    return sorted(methods)


_PAGEABLE = {"email", "sms", "voice", "phone", "slack", "teams", "chat", "webhook"}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
