"""Compatibility doors: where monitoring tools send alerts, in their own protocols.

``POST /v2/enqueue`` is PagerDuty's Events API v2: it answers in PagerDuty's format (not in
Tocsin's error shape), so any tool that can send to PagerDuty sends to Tocsin by changing
only the URL. Like every compatibility door (``ARCHITECTURE.md``: Alertmanager, Grafana and
Sentry webhooks, the status-page JSON, iCal), it lives outside ``/api/v1`` and outside
Tocsin's OpenAPI document, which describes Tocsin's own API and its one error shape;
``docs/alerts.md`` documents it. Parse with an adapter (``alerts/adapters``), call the
service, answer as the tool expects.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.alerts import service as alerts
from tocsin.alerts.adapters import pagerduty
from tocsin.alerts.ratelimit import RateLimiter, retry_after_header
from tocsin.auth.deps import ContextDep

#: Mounted at the root, where the tools expect them.
events_router = APIRouter(tags=["alerts"], include_in_schema=False)

ENQUEUE_PATH = "/v2/enqueue"


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "alert_limiter", None)
    if limiter is None:
        limiter = request.app.state.alert_limiter = RateLimiter()
    return limiter


@events_router.post(ENQUEUE_PATH, status_code=202)
async def enqueue(request: Request, ctx: ContextDep) -> JSONResponse:
    """Trigger, acknowledge or resolve an alert, exactly as PagerDuty's Events API v2.

    The event is stored before the answer; processing (de-duplication, incidents) follows
    as a job."""
    try:
        parsed = pagerduty.parse(await request.body(), request.headers.get("content-type"))
    except pagerduty.InvalidEvent as exc:
        return JSONResponse(pagerduty.invalid(exc.errors), status_code=400)
    async with ctx.db.write() as session:
        try:
            receiver = await alerts.authenticate(
                session, parsed.routing_key, "pagerduty", clock=ctx.clock
            )
        except alerts.UnknownKey as exc:
            return JSONResponse(pagerduty.invalid([exc.message]), status_code=400)
        limit = receiver.rate_limit
        if limit is not None:
            wait = _limiter(request).take(
                receiver.integration.id, limit.per_second, limit.burst, ctx.clock.now()
            )
            if wait:
                return JSONResponse(
                    pagerduty.throttled(),
                    status_code=429,
                    headers={"Retry-After": retry_after_header(wait)},
                )
        stored = await alerts.ingest(session, receiver.integration, [parsed.event], clock=ctx.clock)
        dedup_key = stored[0].dedup_key
    return JSONResponse(pagerduty.success(dedup_key), status_code=202)


class EnqueueErrors:
    """The server's own guard (``tocsin.guard``) refuses bodies over its size limit (413) and
    NUL characters (422) before any route, in Tocsin's error shape. On ``/v2/enqueue``
    those answers become PagerDuty's: ``400 invalid event``. Added after the guard, so it
    wraps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != ENQUEUE_PATH:
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def translate(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] in (413, 422):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = json.dumps(pagerduty.invalid([_guard_error(b"".join(chunks))])).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, translate)


def _guard_error(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return pagerduty.INVALID
    if error.get("code") == "body_too_large":
        return f"Event object is too large (the limit is {pagerduty.MAX_BODY_BYTES} bytes)"
    return str(error.get("message") or pagerduty.INVALID)
