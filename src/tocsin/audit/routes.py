"""REST door to the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tocsin.audit import service as audit
from tocsin.audit.schemas import AuditOut
from tocsin.auth.deps import ActorDep, ContextDep, Instant
from tocsin.errors import ERROR_RESPONSES

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=list[AuditOut])
async def entries(
    ctx: ContextDep,
    actor: ActorDep,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    async with ctx.db.read() as session:
        rows = await audit.entries(
            session,
            actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=since,
            limit=limit,
        )
        return [AuditOut.model_validate(r) for r in rows]
