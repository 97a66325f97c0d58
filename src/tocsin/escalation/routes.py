"""``GET /incidents/{ref}/escalation``: who was paged, who is next, and when."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.auth.deps import ActorDep, ContextDep
from tocsin.errors import ERROR_RESPONSES
from tocsin.escalation import schemas
from tocsin.escalation import service as escalation
from tocsin.escalation.models import EscalationStep
from tocsin.incidents import service as incidents
from tocsin.policy.schema_escalation import Step

router = APIRouter(prefix="/incidents", tags=["escalation"], responses=ERROR_RESPONSES)


def _step(row: EscalationStep) -> schemas.StepOut:
    spec = Step.model_validate(row.spec)
    return schemas.StepOut(
        id=row.id,
        ladder=row.ladder_key,
        cycle=row.cycle,
        step=row.position + 1,
        action=spec.action,
        targets=spec.targets,
        condition=spec.condition,
        due_at=row.due_at,
        status=row.status,
        settled_at=row.settled_at,
        reason=row.reason,
    )


@router.get("/{ref}/escalation", response_model=schemas.EscalationOut)
async def get_escalation(ref: str, ctx: ContextDep, actor: ActorDep) -> schemas.EscalationOut:
    async with ctx.db.read() as session:
        incident = await incidents.get(session, actor, ref)
        current, steps = await escalation.state(session, incident)
        shown = [_step(row) for row in steps]
        return schemas.EscalationOut(
            incident=incident.ref,
            ladder=current.ladder_key if current else None,
            started_at=current.started_at if current else None,
            status=current.status if current else "none",
            stop_reason=current.stop_reason if current else None,
            next=next((s for s in shown if s.status == "pending"), None),
            steps=shown,
        )
