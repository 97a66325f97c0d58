"""REST doors to alerts: integrations and alerts under ``/api/v1``, and the PagerDuty
Events API v2 compatible ``POST /v2/enqueue``, which answers in PagerDuty's format (not in
Tocsin's error shape), so any tool that can send to PagerDuty sends to Tocsin by changing
only the URL.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.alerts import schemas
from tocsin.alerts import service as alerts
from tocsin.alerts.adapters import pagerduty
from tocsin.alerts.ratelimit import RateLimiter, retry_after_header
from tocsin.auth.deps import ActorDep, ContextDep, IdPath
from tocsin.db import MAX_INT
from tocsin.errors import ERROR_RESPONSES

#: Mounted under ``/api/v1``.
router = APIRouter(tags=["alerts"], responses=ERROR_RESPONSES)
#: ``/v2/enqueue``: at the root, where PagerDuty has it.
events_router = APIRouter(tags=["alerts"])

ENQUEUE_PATH = "/v2/enqueue"
IntegrationId = Annotated[str, Path(max_length=64, description="The integration's key (a slug)")]


# --- integrations --------------------------------------------------------------------------


@router.get("/integrations", response_model=list[schemas.IntegrationOut])
async def list_integrations(ctx: ContextDep, actor: ActorDep) -> list[schemas.IntegrationOut]:
    """Every integration: those declared in the policy and those made through the API.
    Keys are never shown again after they are made (only their first characters)."""
    async with ctx.db.read() as session:
        return await alerts.list_integrations(session, actor, public_url=ctx.settings.public_url)


@router.get("/integrations/{integration}", response_model=schemas.IntegrationOut)
async def get_integration(
    integration: IntegrationId, ctx: ContextDep, actor: ActorDep
) -> schemas.IntegrationOut:
    async with ctx.db.read() as session:
        return await alerts.get_integration(
            session, actor, integration, public_url=ctx.settings.public_url
        )


@router.post("/integrations", status_code=201, response_model=schemas.IntegrationOut)
async def create_integration(
    body: schemas.IntegrationIn, ctx: ContextDep, actor: ActorDep
) -> schemas.IntegrationOut:
    """A new integration (admins or ``manage-integrations``). The answer holds its secret
    ``key`` and the ``url`` to give the source: store the key now, it is not shown again."""
    async with ctx.db.write() as session:
        return await alerts.create_integration(
            session, actor, body, clock=ctx.clock, public_url=ctx.settings.public_url
        )


@router.post("/integrations/{integration}/rotate-key", response_model=schemas.IntegrationOut)
async def rotate_key(
    integration: IntegrationId, ctx: ContextDep, actor: ActorDep
) -> schemas.IntegrationOut:
    """A new key (admins or ``manage-integrations``); the old one stops working at once.
    For an integration declared in the policy, this makes its first key."""
    async with ctx.db.write() as session:
        return await alerts.rotate_key(
            session, actor, integration, clock=ctx.clock, public_url=ctx.settings.public_url
        )


# --- alerts --------------------------------------------------------------------------------


@router.get("/alerts", response_model=schemas.AlertListOut)
async def list_alerts(
    ctx: ContextDep,
    actor: ActorDep,
    status: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    integration: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> schemas.AlertListOut:
    """Alerts, newest first: ``status`` triggered, acknowledged or resolved (repeatable)."""
    async with ctx.db.read() as session:
        return await alerts.list_alerts(
            session, actor, status=status, integration=integration, limit=limit, offset=offset
        )


@router.get("/alerts/{alert_id}", response_model=schemas.AlertOut)
async def show_alert(alert_id: IdPath, ctx: ContextDep, actor: ActorDep) -> schemas.AlertOut:
    """One alert with every event that applied to it."""
    async with ctx.db.read() as session:
        return await alerts.get_alert(session, actor, alert_id)


# --- PagerDuty Events API v2 ---------------------------------------------------------------

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "description": "The integration key (32 characters)"},
        "event_action": {"type": "string", "enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "payload": {
            "type": "object",
            "description": "Required to trigger",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "maxLength": 1024},
                "source": {"type": "string"},
                "severity": {"type": "string", "enum": list(pagerduty.SEVERITIES)},
                "timestamp": {"type": "string", "format": "date-time"},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
        },
        "links": {"type": "array", "items": {"type": "object"}},
        "images": {"type": "array", "items": {"type": "object"}},
        "client": {"type": "string"},
        "client_url": {"type": "string"},
    },
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": '`{"status": "success", "message": "Event processed", "dedup_key"}`'},
    400: {
        "description": '`{"status": "invalid event", "message": "Event object is invalid", '
        '"errors": [...]}`: every problem, an unknown routing key included'
    },
    429: {"description": "Past the integration's rate limit: retry later (`Retry-After`)"},
}


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "alert_limiter", None)
    if limiter is None:
        limiter = request.app.state.alert_limiter = RateLimiter()
    return limiter


@events_router.post(
    ENQUEUE_PATH,
    status_code=202,
    responses=_ANSWERS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _EVENT_SCHEMA}},
        }
    },
    summary="Send an alert event (PagerDuty Events API v2)",
)
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
