"""REST doors to people and API tokens."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.auth import service as auth
from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.auth.models import ApiToken, User
from tocsin.auth.schemas import (
    NewTokenOut,
    TeamIn,
    TeamOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from tocsin.errors import ERROR_RESPONSES
from tocsin.policy import service as policies

router = APIRouter(tags=["people"], responses=ERROR_RESPONSES)


def token_out(token: ApiToken, user: User) -> TokenOut:
    return TokenOut(
        id=token.id,
        user=user.email,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@router.get("/me", response_model=UserOut)
async def me(ctx: ContextDep, actor: ActorDep) -> UserOut:
    async with ctx.db.read() as session:
        return UserOut.model_validate(await auth.get_user(session, actor.email))


@router.get("/users", response_model=list[UserOut])
async def users(ctx: ContextDep, _: ActorDep) -> list[UserOut]:
    async with ctx.db.read() as session:
        return [UserOut.model_validate(u) for u in await auth.list_users(session)]


@router.post("/users", status_code=201, response_model=UserOut)
async def add_user(body: UserIn, ctx: ContextDep, actor: ActorDep) -> UserOut:
    async with ctx.db.write() as session:
        _, policy = await policies.current(session)
        user = await auth.create_user(
            session,
            actor,
            body.email,
            clock=ctx.clock,
            name=body.name,
            is_admin=body.admin,
            roles=body.roles,
            known_roles=[r.key for r in policy.roles],
            password=body.password,
        )
        return UserOut.model_validate(user)


@router.get("/tokens", response_model=list[TokenOut])
async def tokens(ctx: ContextDep, actor: ActorDep) -> list[TokenOut]:
    async with ctx.db.read() as session:
        return [token_out(t, u) for t, u in await auth.list_tokens(session, actor)]


@router.post("/tokens", status_code=201, response_model=NewTokenOut)
async def create_token(body: TokenIn, ctx: ContextDep, actor: ActorDep) -> NewTokenOut:
    async with ctx.db.write() as session:
        email = body.email or actor.email
        token, secret = await auth.create_token(
            session, actor, email, name=body.name, clock=ctx.clock
        )
        user = await auth.get_user(session, email)
        return NewTokenOut(**token_out(token, user).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
async def revoke_token(token_id: IdPath, ctx: ContextDep, actor: ActorDep) -> TokenOut:
    async with ctx.db.write() as session:
        token = await auth.revoke_token(session, actor, token_id, clock=ctx.clock)
        user = await session.get(User, token.user_id)
        assert user is not None
        return token_out(token, user)


@router.get("/teams", response_model=list[TeamOut])
async def teams(ctx: ContextDep, _: ActorDep) -> list[TeamOut]:
    async with ctx.db.read() as session:
        return [
            TeamOut(key=t.key, name=t.name, description=t.description, members=m)
            for t, m in await auth.list_teams(session)
        ]


@router.put("/teams", response_model=TeamOut)
async def save_team(body: TeamIn, ctx: ContextDep, actor: ActorDep) -> TeamOut:
    async with ctx.db.write() as session:
        team = await auth.save_team(
            session,
            actor,
            body.key,
            body.name,
            clock=ctx.clock,
            description=body.description,
            members=body.members,
        )
        members = sorted(e.strip().lower() for e in body.members)
        return TeamOut(key=team.key, name=team.name, description=team.description, members=members)
