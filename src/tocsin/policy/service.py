"""Policy versions: check, apply (a new version), read the current or a past one."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit import service as audit
from tocsin.auth import service as auth
from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require_admin
from tocsin.clock import Clock
from tocsin.errors import NotFound
from tocsin.policy.loader import load_policy_text
from tocsin.policy.models import PolicyVersion
from tocsin.policy.schema import Policy

#: Parsed policies by checksum: a stored version is parsed once per process.
_PARSED: dict[str, Policy] = {}


def _parsed(checksum: str, content: str) -> Policy:
    policy = _PARSED.get(checksum)
    if policy is None:
        policy = _remember(checksum, load_policy_text(content, f"policy@{checksum[:8]}"))
    return policy


def _remember(checksum: str, policy: Policy) -> Policy:
    if len(_PARSED) >= 64:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[checksum] = policy
    return policy


def policy_of(version: PolicyVersion) -> Policy:
    """The parsed policy of a stored version (parsed once per process)."""
    return _parsed(version.checksum, version.content)


#: ``session.info`` key of the policy lookups made in one transaction: a declaration asks
#: for the policy several times, and versions are only ever added (by :func:`apply`, which
#: forgets them).
_SEEN = "tocsin.policy.seen"


def _seen(session: AsyncSession) -> dict[object, Any]:
    seen: dict[object, Any] = session.info.setdefault(_SEEN, {})
    return seen


async def current_version(session: AsyncSession) -> PolicyVersion:
    seen = _seen(session)
    version: PolicyVersion | None = seen.get("current")
    if version is None:
        version = await session.scalar(
            select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)
        )
        seen["current"] = version
        if version is not None:
            seen[version.id] = version.checksum
    if version is None:
        raise NotFound(
            "no policy has been applied yet; run `tocsin policy apply FILE`",
            code="no_policy",
        )
    return version


async def current(session: AsyncSession) -> tuple[PolicyVersion, Policy]:
    version = await current_version(session)
    return version, policy_of(version)


async def current_policy(session: AsyncSession) -> Policy:
    """The current policy, reading its text only when this process has not parsed it yet
    (the engine asks on every job, and a policy file runs to tens of kilobytes)."""
    seen = _seen(session)
    if "current" in seen:
        return (await current(session))[1]
    latest = select(PolicyVersion.id).order_by(PolicyVersion.version.desc()).limit(1)
    version_id = await session.scalar(latest)
    if version_id is None:
        return (await current(session))[1]  # raises the "no policy yet" error
    return await policy_by_id(session, version_id)


async def policy_by_id(session: AsyncSession, version_id: int) -> Policy:
    """The parsed policy of one version (an incident's), by the same cache."""
    seen = _seen(session)
    checksum: str | None = seen.get(version_id)
    if checksum is None:
        checksum = await session.scalar(
            select(PolicyVersion.checksum).where(PolicyVersion.id == version_id)
        )
        seen[version_id] = checksum
    if checksum is None:
        raise NotFound(f"no policy version with id {version_id}")
    cached = _PARSED.get(checksum)
    if cached is not None:
        return cached
    return policy_of(await get_version(session, version_id))


async def get_version(session: AsyncSession, version_id: int) -> PolicyVersion:
    version = await session.get(PolicyVersion, version_id)
    if version is None:
        raise NotFound(f"no policy version with id {version_id}")
    return version


async def by_number(session: AsyncSession, number: int) -> PolicyVersion:
    version = await session.scalar(select(PolicyVersion).where(PolicyVersion.version == number))
    if version is None:
        raise NotFound(f"no policy version {number}", details={"version": number})
    return version


async def versions(session: AsyncSession) -> list[PolicyVersion]:
    return list(
        (await session.scalars(select(PolicyVersion).order_by(PolicyVersion.version))).all()
    )


async def apply(
    session: AsyncSession, actor: Actor, content: str, *, clock: Clock, source: str = "<api>"
) -> tuple[PolicyVersion, bool]:
    """Store the policy as a new version unless it equals the current one.

    Returns the version and whether it is new. Raises ``PolicyInvalid`` listing every
    problem; nothing is stored then. People and teams of the policy are created/updated.
    """
    require_admin(actor, "applying a policy")
    checksum = hashlib.sha256(content.encode()).hexdigest()
    # A text this process has parsed (and found valid) before is not parsed again.
    policy = _PARSED.get(checksum) or _remember(checksum, load_policy_text(content, source))
    latest = await session.scalar(
        select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)
    )
    if latest is not None and latest.checksum == checksum:
        return latest, False
    number = (
        int(await session.scalar(select(func.coalesce(func.max(PolicyVersion.version), 0))) or 0)
        + 1
    )
    version = PolicyVersion(
        version=number,
        content=content,
        checksum=checksum,
        source=source[-500:],
        applied_at=clock.now(),
        applied_by=actor.label,
    )
    session.add(version)
    await session.flush()
    session.info.pop(_SEEN, None)
    await auth.sync_people(session, actor, policy.people, policy.teams, clock=clock)
    # The status page shows the policy's components (imported here: it reads policies).
    from tocsin.statuspage.service import sync_components

    await sync_components(session, policy, version.id, clock=clock)
    await audit.record(
        session,
        actor,
        "policy.apply",
        "policy",
        number,
        clock=clock,
        before=None if latest is None else {"version": latest.version, "checksum": latest.checksum},
        after={"version": number, "checksum": checksum, "source": version.source},
    )
    return version, True
