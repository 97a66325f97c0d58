"""REST doors to reports (Prometheus' ``/metrics`` is in ``doors.py``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from tocsin.auth.deps import ActorDep, ContextDep
from tocsin.errors import ERROR_RESPONSES
from tocsin.reports import periods, render
from tocsin.reports import service as reports
from tocsin.reports.schemas import Format, GroupBy, IncidentMetrics, PeriodReport

router = APIRouter(tags=["reports"], responses=ERROR_RESPONSES)

_TEXT_TYPES = {"table": "text/plain", "md": "text/markdown", "csv": "text/csv"}


@router.get("/reports/period", response_model=PeriodReport)
async def period_report(
    ctx: ContextDep,
    actor: ActorDep,
    period: Annotated[
        str | None, Query(description="2026-01 (month), 2026-W03 (ISO week) or 2026-Q1")
    ] = None,
    first: Annotated[date | None, Query(alias="from", description="First day of a range")] = None,
    last: Annotated[date | None, Query(alias="to", description="Last day (inclusive)")] = None,
    by: GroupBy | None = None,
    format: Format = "json",
) -> Response | PeriodReport:
    """The figures of a period, in total and by severity, type, team or service."""
    chosen = periods.choose(period, first, last)
    async with ctx.db.read() as session:
        result = await reports.period_report(session, actor, chosen, by=by, clock=ctx.clock)
    if format == "json":
        return result
    text = render.RENDERERS[format](result)
    return PlainTextResponse(text, media_type=f"{_TEXT_TYPES[format]}; charset=utf-8")


@router.get("/reports/incidents/{ref}", response_model=IncidentMetrics)
async def incident_metrics(ctx: ContextDep, actor: ActorDep, ref: str) -> IncidentMetrics:
    """One incident's durations, SLA verdict per target (and by how much) and user impact."""
    async with ctx.db.read() as session:
        return await reports.incident_metrics(session, actor, ref, clock=ctx.clock)
