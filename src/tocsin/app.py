"""The ASGI application: ``create_app(settings)``."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin import __version__
from tocsin.audit.routes import router as audit_router
from tocsin.auth.routes import router as auth_router
from tocsin.clock import Clock, SystemClock
from tocsin.context import Context
from tocsin.db import Database
from tocsin.errors import TocsinError
from tocsin.incidents.routes import router as incidents_router
from tocsin.policy.routes import router as policy_router
from tocsin.settings import Settings

log = logging.getLogger("tocsin")


class BodyLimit:
    """Refuse request bodies over the limit with a 413 in the error shape."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = TocsinError(
            f"the request body is larger than {self.limit} bytes",
            code="body_too_large",
            status=413,
            details={"limit_bytes": self.limit},
        )
        await JSONResponse(error.to_dict(), status_code=413)(scope, receive, send)


#: JSON's escape for NUL, itself not escaped (``\\u0000`` is a backslash and text).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class RefuseNul:
    """Refuse NUL characters in the path, query or body with a 422 in the error shape.

    PostgreSQL cannot store NUL in text (SQLite can): refusing it at the door makes both
    databases answer alike, and no such value reaches a query. Sits inside ``BodyLimit``,
    which has already read (and bounded) the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            where = "path" if "\x00" in scope["path"] else "query"
            await self._refuse(where, scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or _NUL_ESCAPE.search(body):
            await self._refuse("body", scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, where: str, scope: Scope, receive: Receive, send: Send) -> None:
        message = "NUL characters (\\u0000) are not accepted"
        error = TocsinError(
            f"{where}: {message}",
            code="invalid_input",
            status=422,
            details=[{"location": where, "message": message, "type": "nul_character"}],
        )
        await JSONResponse(error.to_dict(), status_code=422)(scope, receive, send)


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
) -> FastAPI:
    settings = settings or Settings()
    db = database or Database(settings)
    context = Context(settings=settings, db=db, clock=clock or SystemClock())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
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

    @app.get("/api/v1/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__, "database": db.dialect}

    for router in (incidents_router, policy_router, auth_router, audit_router):
        app.include_router(router, prefix="/api/v1")
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # outermost: runs first
    return app
