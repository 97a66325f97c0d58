"""People, teams and tokens. Policy-listed people are kept in step by ``sync_people``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import Actor
from tocsin.auth.models import ApiToken, Team, TeamMember, User
from tocsin.auth.permissions import require_admin
from tocsin.auth.secrets import hash_password, new_token, token_hash, verify_password
from tocsin.clock import Clock
from tocsin.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from tocsin.policy.schema import Person
from tocsin.policy.schema import Team as TeamSpec


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        roles=frozenset(user.roles),
    )


def _user_view(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "is_admin": user.is_admin,
        "roles": list(user.roles),
    }


async def count_admins(session: AsyncSession) -> int:
    query = (
        select(func.count()).select_from(User).where(User.is_admin.is_(True), User.active.is_(True))
    )
    return int(await session.scalar(query) or 0)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def get_user(session: AsyncSession, email: str) -> User:
    user = await user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with e-mail {email!r}", details={"email": email})
    return user


async def users_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(set(ids))))
    return {u.id: u for u in rows}


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.email))).all())


async def create_user(
    session: AsyncSession,
    actor: Actor,
    email: str,
    *,
    clock: Clock,
    name: str | None = None,
    is_admin: bool = False,
    roles: Sequence[str] = (),
    known_roles: Sequence[str] | None = None,
    password: str | None = None,
) -> User:
    require_admin(actor, "adding people")
    address = email.strip().lower()
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise InvalidInput(f"{email!r} is not an e-mail address", details={"field": "email"})
    if known_roles is not None:
        unknown = sorted(set(roles) - set(known_roles))
        if unknown:
            raise InvalidInput(
                f"unknown role(s) {', '.join(unknown)}; the policy defines: {', '.join(known_roles)}",
                details={"field": "roles", "unknown": unknown},
            )
    if await user_by_email(session, address) is not None:
        raise Conflict(f"a user with e-mail {address!r} already exists", details={"email": address})
    user = User(
        email=address,
        name=name or address.split("@")[0],
        is_admin=is_admin,
        roles=list(dict.fromkeys(roles)),
        contacts=[],
        password_hash=hash_password(password) if password else None,
        created_at=clock.now(),
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session, actor, "user.create", "user", user.email, clock=clock, after=_user_view(user)
    )
    return user


async def update_user(
    session: AsyncSession,
    actor: Actor,
    email: str,
    *,
    clock: Clock,
    roles: Sequence[str],
    is_admin: bool,
    active: bool,
    known_roles: Sequence[str] | None = None,
) -> User:
    """Change a person's standing roles, admin right and whether they may sign in (a
    deactivated person's tokens and sessions stop working). The last active admin keeps
    both. A policy that lists the person sets their roles again when applied."""
    require_admin(actor, "changing people")
    if known_roles is not None:
        unknown = sorted(set(roles) - set(known_roles))
        if unknown:
            raise InvalidInput(
                f"unknown role(s) {', '.join(unknown)}; the policy defines: {', '.join(known_roles)}",
                details={"field": "roles", "unknown": unknown},
            )
    user = await get_user(session, email)
    before = {**_user_view(user), "active": user.active}
    losing = user.is_admin and user.active and not (is_admin and active)
    if losing and await count_admins(session) <= 1:
        raise Conflict(
            f"{user.email} is the last active admin; make someone else admin first",
            code="last_admin",
            details={"field": "is_admin"},
        )
    user.roles, user.is_admin, user.active = list(dict.fromkeys(roles)), is_admin, active
    await session.flush()
    after = {**_user_view(user), "active": user.active}
    if before != after:
        await audit.record(
            session,
            actor,
            "user.update",
            "user",
            user.email,
            clock=clock,
            before=before,
            after=after,
        )
    return user


async def set_password(
    session: AsyncSession, actor: Actor, email: str, password: str, *, clock: Clock
) -> None:
    if actor.email != email.strip().lower():
        require_admin(actor, "setting another person's password")
    if len(password) < 8:
        raise InvalidInput("a password needs at least 8 characters", details={"field": "password"})
    user = await get_user(session, email)
    user.password_hash = hash_password(password)
    await audit.record(session, actor, "user.password", "user", user.email, clock=clock)


async def check_password(session: AsyncSession, email: str, password: str) -> User:
    user = await user_by_email(session, email)
    if user is None or not user.active or not user.password_hash:
        raise Unauthenticated("wrong e-mail or password")
    if not verify_password(user.password_hash, password):
        raise Unauthenticated("wrong e-mail or password")
    return user


async def create_token(
    session: AsyncSession, actor: Actor, email: str, *, clock: Clock, name: str = ""
) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its hash is stored."""
    if actor.email != email.strip().lower():
        require_admin(actor, "creating a token for another person")
    user = await get_user(session, email)
    secret = new_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        token_hash=token_hash(secret),
        created_at=clock.now(),
    )
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        actor,
        "token.create",
        "token",
        token.id,
        clock=clock,
        after={"user": user.email, "name": name, "prefix": token.prefix},
    )
    return token, secret


async def list_tokens(
    session: AsyncSession, actor: Actor, email: str | None = None
) -> list[tuple[ApiToken, User]]:
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if not actor.is_admin:
        query = query.where(User.id == actor.user_id)
    if email:
        query = query.where(User.email == email.strip().lower())
    return [(t, u) for t, u in (await session.execute(query)).all()]


async def revoke_token(
    session: AsyncSession, actor: Actor, token_id: int, *, clock: Clock
) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or (not actor.is_admin and token.user_id != actor.user_id):
        raise NotFound(f"no token with id {token_id}", details={"token_id": token_id})
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        await audit.record(session, actor, "token.revoke", "token", token.id, clock=clock)
    return token


async def authenticate_token(session: AsyncSession, secret: str) -> tuple[User, ApiToken]:
    """The user a bearer token belongs to, and the token; 401 when unknown or revoked."""
    row = (
        await session.execute(
            select(User, ApiToken)
            .join(ApiToken, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(secret))
        )
    ).first()
    if row is None or row[1].revoked_at is not None or not row[0].active:
        raise Unauthenticated("the API token is unknown or revoked")
    return row[0], row[1]


class TokenHolder(NamedTuple):
    """Who a bearer token acts for, and what the API needs of the token itself."""

    actor: Actor
    token_id: int
    last_used_at: datetime | None


async def token_holder(connection: AsyncConnection, secret: str) -> TokenHolder:
    """:func:`authenticate_token` in one statement of plain columns: every API request
    asks, so no ORM objects and no transaction around it."""
    query = (
        select(
            User.id,
            User.email,
            User.name,
            User.is_admin,
            User.roles,
            User.active,
            ApiToken.id,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
        )
        .join(ApiToken, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(secret))
    )
    row = (await connection.execute(query)).first()
    if row is None or row[7] is not None or not row[5]:
        raise Unauthenticated("the API token is unknown or revoked")
    actor = Actor(
        user_id=row[0], email=row[1], name=row[2], is_admin=row[3], roles=frozenset(row[4])
    )
    return TokenHolder(actor, row[6], row[8])


async def touch_token(session: AsyncSession, token_id: int, *, clock: Clock) -> None:
    """Record when a token was last used."""
    token = await session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = clock.now()


async def sync_people(
    session: AsyncSession,
    actor: Actor,
    people: Sequence[Person],
    teams: Sequence[TeamSpec],
    *,
    clock: Clock,
) -> None:
    """Create or update the policy's people and teams. Nobody is deleted by a policy."""
    team_rows: dict[str, Team] = {}
    for spec in teams:
        team = await session.scalar(select(Team).where(Team.key == spec.key))
        if team is None:
            team = Team(key=spec.key, name=spec.name, description=spec.description)
            session.add(team)
        else:
            team.name, team.description = spec.name, spec.description
        team_rows[spec.key] = team
    await session.flush()
    for person in people:
        user = await user_by_email(session, person.email)
        before = None if user is None else _user_view(user)
        if user is None:
            user = User(email=person.email.lower(), created_at=clock.now(), name=person.name)
            session.add(user)
        user.name = person.name
        user.roles = list(person.roles)
        # A policy grants admin rights; it never takes away ones given by hand.
        user.is_admin = bool(user.is_admin) or person.admin
        user.contacts = [c.model_dump() for c in person.contacts]
        user.timezone = person.timezone
        user.locale = person.locale
        await session.flush()
        after = _user_view(user)
        if before != after:
            await audit.record(
                session,
                actor,
                "user.sync",
                "user",
                user.email,
                clock=clock,
                before=before,
                after=after,
            )
        await session.execute(delete(TeamMember).where(TeamMember.user_id == user.id))
        for key in person.teams:
            session.add(TeamMember(team_id=team_rows[key].id, user_id=user.id))
    await session.flush()


async def list_teams(session: AsyncSession) -> list[tuple[Team, list[str]]]:
    """Teams with their members' e-mails."""
    teams = list((await session.scalars(select(Team).order_by(Team.key))).all())
    rows = await session.execute(
        select(TeamMember.team_id, User.email)
        .join(User, User.id == TeamMember.user_id)
        .order_by(User.email)
    )
    members: dict[int, list[str]] = {}
    for team_id, email in rows:
        members.setdefault(team_id, []).append(email)
    return [(t, members.get(t.id, [])) for t in teams]


async def save_team(
    session: AsyncSession,
    actor: Actor,
    key: str,
    name: str,
    *,
    clock: Clock,
    description: str = "",
    members: Sequence[str] = (),
) -> Team:
    """Create a team or replace its name, description and members."""
    require_admin(actor, "managing teams")
    users = [await get_user(session, email) for email in members]
    team = await session.scalar(select(Team).where(Team.key == key))
    before = None
    if team is None:
        team = Team(key=key, name=name, description=description)
        session.add(team)
        await session.flush()
    else:
        before = {"name": team.name, "description": team.description}
        team.name, team.description = name, description
        await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    for user in users:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    await session.flush()
    after = {"name": name, "description": description, "members": [u.email for u in users]}
    await audit.record(
        session, actor, "team.save", "team", key, clock=clock, before=before, after=after
    )
    return team
