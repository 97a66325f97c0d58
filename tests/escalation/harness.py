"""Helpers for engine tests: declare, run virtual time, read the effects back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.simulate.runner import run_until

POLICY = Path(__file__).with_name("policy.yaml")


async def declare(ctx: Context, severity: str = "P0", **extra: Any) -> str:
    async with ctx.db.write() as session:
        data = schemas.DeclareIn(title="Site down", severity=severity, **extra)
        incident = await incidents.declare(session, SYSTEM, data, clock=ctx.clock)
        return incident.ref


async def run_for(ctx: Context, delta: timedelta) -> None:
    """Run the engine for ``delta`` of virtual time, firing jobs at their due times."""
    await run_until(ctx.db, ctx.clock, ctx.clock.now() + delta)  # type: ignore[arg-type]


async def effects(ctx: Context, *kinds: str) -> list[tuple[timedelta, str, str, list[str]]]:
    """(offset from declaration, kind, target, people) of each effect, in order."""
    async with ctx.db.read() as session:
        rows = list(
            await session.scalars(
                select(IncidentEvent).order_by(IncidentEvent.at, IncidentEvent.id)
            )
        )
    start: datetime = next(r.at for r in rows if r.kind == "declared")
    out = []
    for row in rows:
        effect = row.data.get("after", {}).get("effect")
        if effect is None or (kinds and row.kind not in kinds):
            continue
        out.append((row.at - start, row.kind, effect["target"], effect["resolved_to"]))
    return out


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
