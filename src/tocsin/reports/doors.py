"""Prometheus' ``/metrics``: a door at the root, in Prometheus' text format, for a scraper
with a bearer token (``bearer_token_file`` in its scrape config)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from tocsin.auth.deps import ActorDep, ContextDep
from tocsin.errors import ERROR_RESPONSES
from tocsin.reports import service as reports
from tocsin.reports.exposition import CONTENT_TYPE

router = APIRouter(tags=["reports"], responses=ERROR_RESPONSES)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(ctx: ContextDep, actor: ActorDep) -> Response:
    """Prometheus text exposition: open incidents, acknowledgement and resolution time
    histograms, SLA breaches, failed notifications, job queue depth and lag."""
    async with ctx.db.read() as session:
        text = await reports.metrics(session, actor, clock=ctx.clock)
    return Response(text, media_type=CONTENT_TYPE)
