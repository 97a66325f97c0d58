"""REST doors to policy versions."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.errors import ERROR_RESPONSES
from tocsin.policy import service as policies
from tocsin.policy.loader import parse_policy
from tocsin.policy.schemas import (
    ApplyOut,
    CheckOut,
    PolicyIn,
    PolicyOut,
    PolicyVersionOut,
    ProblemOut,
)

router = APIRouter(prefix="/policy", tags=["policy"], responses=ERROR_RESPONSES)


@router.get("", response_model=PolicyOut)
async def current(ctx: ContextDep, _: ActorDep) -> PolicyOut:
    async with ctx.db.read() as session:
        return PolicyOut.model_validate(await policies.current_version(session))


@router.get("/versions", response_model=list[PolicyVersionOut])
async def versions(ctx: ContextDep, _: ActorDep) -> list[PolicyVersionOut]:
    async with ctx.db.read() as session:
        return [PolicyVersionOut.model_validate(v) for v in await policies.versions(session)]


@router.get("/versions/{number}", response_model=PolicyOut)
async def version(number: IdPath, ctx: ContextDep, _: ActorDep) -> PolicyOut:
    async with ctx.db.read() as session:
        return PolicyOut.model_validate(await policies.by_number(session, number))


@router.post("/check", response_model=CheckOut)
async def check(body: PolicyIn, _: ActorDep) -> CheckOut:
    policy, problems = parse_policy(body.content, body.source)
    return CheckOut(
        valid=policy is not None, problems=[ProblemOut(**p.to_dict()) for p in problems]
    )


@router.post("", response_model=ApplyOut)
async def apply(body: PolicyIn, ctx: ContextDep, actor: ActorDep) -> ApplyOut:
    async with ctx.db.write() as session:
        version, created = await policies.apply(
            session, actor, body.content, source=body.source, clock=ctx.clock
        )
        return ApplyOut(version=PolicyVersionOut.model_validate(version), created=created)
