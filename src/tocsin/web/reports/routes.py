"""Doors of the console's reports pages: parse, call a view or a service, render.

``/reports`` shows a period's figures, charts and download links; ``/reports.csv`` and
``/reports.md`` give the same report as the CLI and the API write it. Reading reports
needs only a session, as in the API; the service counts restricted incidents only for
those who may see them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.auth.deps import context_of
from tocsin.context import Context
from tocsin.errors import TocsinError
from tocsin.web import render
from tocsin.web.pages import error_page, to_login, viewer_for
from tocsin.web.reports import views
from tocsin.web.viewer import Viewer

router = APIRouter(include_in_schema=False)


async def _page(ctx: Context, viewer: Viewer, query: views.ReportQuery) -> Response:
    try:
        async with ctx.db.read() as session:
            data = await views.report_page(session, viewer, query, clock=ctx.clock)
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    status = 422 if data["errors"] else 200
    return render.html(
        "reports/report.html", data, words=viewer.words, viewer=viewer, status=status
    )


@router.get("/reports")
async def report_page(request: Request) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    return await _page(ctx, found[1], views.ReportQuery.of(request.query_params))


async def _download(request: Request, ext: str) -> Response:
    ctx = context_of(request)
    found = await viewer_for(ctx, request)
    if found is None:
        return to_login(request)
    viewer = found[1]
    query = views.ReportQuery.of(request.query_params)
    try:
        async with ctx.db.read() as session:
            chosen = await views.resolve(session, viewer, query, clock=ctx.clock)
            text, media, name = await views.download(session, viewer, chosen, ext, clock=ctx.clock)
    except views.BadQuery:
        return await _page(ctx, viewer, query)  # the form, the message beside the field
    except TocsinError as exc:
        return error_page(exc, viewer.words, viewer)
    headers = {**render.HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type=f"{media}; charset=utf-8", headers=headers)


@router.get("/reports.csv")
async def report_csv(request: Request) -> Response:
    return await _download(request, "csv")


@router.get("/reports.md")
async def report_markdown(request: Request) -> Response:
    return await _download(request, "md")
