"""The ASGI application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from tocsin import __version__
from tocsin.alerts.doors import EnqueueErrors, bench_router, events_router
from tocsin.alerts.routes import router as alerts_router
from tocsin.audit.routes import router as audit_router
from tocsin.auth.routes import router as auth_router
from tocsin.clock import Clock, SystemClock
from tocsin.comms.routes import router as comms_router
from tocsin.context import Context
from tocsin.db import Database
from tocsin.errors import TocsinError
from tocsin.escalation.routes import router as escalation_router
from tocsin.guard import RequestGuard
from tocsin.incidents.routes import router as incidents_router
from tocsin.jobs.registry import load_handlers
from tocsin.jobs.routes import router as jobs_router
from tocsin.jobs.worker import Worker
from tocsin.notify.doors import api_router as notify_router
from tocsin.notify.doors import router as ack_router
from tocsin.oncall.routes import router as oncall_router
from tocsin.policy.routes import router as policy_router
from tocsin.postmortems.routes import router as postmortems_router
from tocsin.reports.doors import router as metrics_router
from tocsin.reports.routes import router as reports_router
from tocsin.settings import Settings
from tocsin.statuspage import site as statuspage_site
from tocsin.statuspage.doors import router as statuspage_doors
from tocsin.statuspage.routes import router as statuspage_router
from tocsin.web.routes import router as web_router

log = logging.getLogger("tocsin")

#: How long shutdown waits for the in-process job worker to finish the job in hand.
WORKER_SHUTDOWN_SECONDS = 30.0


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        out.append(
            {
                "location": ".".join(loc),
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
        )
    return out


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TocsinError)
    async def _tocsin(_: Request, exc: TocsinError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"location": "", "message": "invalid request"}
        message = f"{first['location'] or 'request'}: {first['message']}"
        if len(details) > 1:
            message += f" (and {len(details) - 1} more)"
        body = {"error": {"code": "invalid_input", "message": message, "details": details}}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        body = {"error": {"code": code, "message": str(exc.detail), "details": None}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(PoolTimeout)
    async def _busy(_: Request, exc: PoolTimeout) -> JSONResponse:
        # Overload, not a bug: every connection was in use for the whole pool timeout.
        log.warning("busy: no database connection free (%s)", exc)
        message = (
            "the server is busy: no database connection came free in time; "
            "nothing was stored, try again"
        )
        body = {"error": {"code": "busy", "message": message, "details": None}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        body = {
            "error": {
                "code": "internal_error",
                "message": "internal error (a bug: please report it)",
                "details": None,
            }
        }
        return JSONResponse(body, status_code=500)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    database: Database | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """The API; with ``run_worker`` its lifespan also runs a job worker (``tocsin serve``)."""
    settings = settings or Settings()
    db = database or Database(settings)
    context = Context(settings=settings, db=db, clock=clock or SystemClock())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # What starting made (modules, the app and its routes, the database's metadata)
        # lives as long as the process: the garbage collector need not walk it again at
        # every full collection, which under load cost a third of a request's CPU.
        gc.freeze()
        worker, task = None, None
        if run_worker:
            load_handlers(settings)
            worker = Worker(db, context.clock)
            task = asyncio.create_task(worker.run_forever(), name="tocsin job worker")
        try:
            yield
        finally:
            if worker is not None and task is not None:
                worker.stop()
                try:
                    await asyncio.wait_for(task, WORKER_SHUTDOWN_SECONDS)
                except TimeoutError:
                    log.warning(
                        "the job worker did not stop in time; its jobs' leases will run out"
                    )
                except Exception:
                    log.exception("the job worker failed")
            if database is None:
                await db.dispose()

    app = FastAPI(
        title="Tocsin",
        version=__version__,
        description="Incident response run by policy: declare, acknowledge, escalate, resolve.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.context = context
    _install_error_handlers(app)

    # The alert doors first, then the public status page: under load they take most
    # requests, and routes are tried in order (their paths overlap no other).
    app.include_router(events_router)
    app.include_router(statuspage_site.router)
    if settings.bench_bare_endpoint:
        app.include_router(bench_router)
        app.include_router(statuspage_site.bench_router)

    @app.get("/api/v1/health", tags=["meta"])
    async def health(request: Request) -> dict[str, str]:
        dialect = request.app.state.context.db.dialect
        return {"status": "ok", "version": __version__, "database": dialect}

    for router in (
        incidents_router,
        comms_router,
        escalation_router,
        policy_router,
        auth_router,
        audit_router,
        jobs_router,
        oncall_router,
        alerts_router,
        notify_router,
        postmortems_router,
        statuspage_router,
        reports_router,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(metrics_router)
    app.include_router(ack_router)
    app.include_router(statuspage_doors)
    app.include_router(web_router)
    app.add_middleware(RequestGuard, limit=settings.max_body_bytes)
    app.add_middleware(EnqueueErrors)
    return app


def create_server_app() -> FastAPI:
    """What ``tocsin serve`` runs: the API and a job worker in one process."""
    return create_app(run_worker=True)
