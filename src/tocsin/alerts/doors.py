"""Compatibility doors: where monitoring tools send alerts, in their own protocols.

``POST /v2/enqueue`` is PagerDuty's Events API v2: it answers in PagerDuty's format (not in
Tocsin's error shape), so any tool that can send to PagerDuty sends to Tocsin by changing
only the URL. ``POST /webhooks/{alertmanager,grafana,sentry,generic}[/KEY]`` take those
tools' webhooks; they answer in Tocsin's error shape, which the tools only log. Like every
compatibility door (``ARCHITECTURE.md``), they live outside ``/api/v1`` and outside
Tocsin's OpenAPI document, which describes Tocsin's own API; ``docs/alerts.md`` documents
them. Parse with an adapter (``alerts/adapters``), take the events in through
:func:`take_in` (the one path every door shares), answer as the tool expects.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Callable, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.alerts import service as alerts
from tocsin.alerts import signatures
from tocsin.alerts.adapters import ENDPOINTS, alertmanager, generic, grafana, pagerduty, sentry
from tocsin.alerts.adapters.common import Ignored, InvalidPayload
from tocsin.alerts.batching import Intake, Stale, unavailable
from tocsin.alerts.ratelimit import RateLimiter, retry_after_header
from tocsin.alerts.schemas import IncomingEvent
from tocsin.auth.deps import ContextDep, context_of
from tocsin.context import Context
from tocsin.errors import TocsinError, Unauthenticated
from tocsin.policy.schema_alerts import WebhookMapping

log = logging.getLogger("tocsin.alerts")

#: Mounted at the root, where the tools expect them.
events_router = APIRouter(tags=["alerts"], include_in_schema=False)

ENQUEUE_PATH = ENDPOINTS["pagerduty"]
#: The webhook doors, by integration type: the path without the key (for a key sent in
#: the ``Authorization`` header) and the path with it (``ENDPOINTS``).
WEBHOOKS = {
    kind: path.removesuffix("/{key}") for kind, path in ENDPOINTS.items() if "{key}" in path
}

Events = Callable[[alerts.Receiver, bytes], Sequence[IncomingEvent]]


class Throttled(TocsinError):
    status = 429
    code = "rate_limited"

    def __init__(self, wait: float) -> None:
        super().__init__(
            "events for this integration are arriving too quickly; retry later",
            details={"retry_after_seconds": round(wait, 3)},
        )
        self.wait = wait


class Unavailable(TocsinError):
    """The database cannot be reached or is busy: nothing was stored; the sender should
    retry (Alertmanager and Grafana do on a 5xx, never on a 4xx)."""

    status = 503
    code = "unavailable"


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "alert_limiter", None)
    if limiter is None:
        limiter = request.app.state.alert_limiter = RateLimiter()
    return limiter


def _intake(request: Request, ctx: Context) -> Intake:
    intake: Intake | None = getattr(request.app.state, "alert_intake", None)
    if intake is None:
        intake = request.app.state.alert_intake = Intake(ctx.db, ctx.clock)
    return intake


async def take_in(
    request: Request,
    ctx: Context,
    secret: str,
    integration_type: str,
    events: Callable[[alerts.Receiver], Sequence[IncomingEvent]],
) -> list[str]:
    """What every door does once it has a key: find the integration it opens, turn the
    body into events (``events``: parse, and verify with what the integration declares),
    apply the integration's rate limit, store the events with their jobs, through the
    process's :class:`~tocsin.alerts.batching.Intake`: answered once committed, and if
    anything fails, nothing is stored. Returns the dedup keys.

    Raises :class:`~tocsin.alerts.service.UnknownKey`, :class:`Throttled`,
    :class:`Unavailable` or whatever ``events`` raises."""

    def admit(receiver: alerts.Receiver) -> Sequence[IncomingEvent]:
        taken = events(receiver)
        limit = receiver.rate_limit
        if limit is not None:
            wait = _limiter(request).take(
                receiver.integration.id, limit.per_second, limit.burst, ctx.clock.now()
            )
            if wait:
                raise Throttled(wait)
        return taken

    try:
        return await _intake(request, ctx).take(secret, integration_type, admit)
    except Stale:
        raise Unavailable(
            "the integration's key or the policy changed while storing; nothing was stored, retry"
        ) from None
    except Exception as exc:
        if not unavailable(exc):
            raise
        log.warning("alert events refused, the database is unavailable: %s", exc)
        raise Unavailable("the database is unavailable; nothing was stored, retry") from None


@events_router.post(ENQUEUE_PATH, status_code=202)
async def enqueue(request: Request) -> JSONResponse:
    """Trigger, acknowledge or resolve an alert, exactly as PagerDuty's Events API v2.

    The event is stored before the answer; processing (de-duplication, incidents) follows
    as a job."""
    try:
        parsed = pagerduty.parse(await request.body(), request.headers.get("content-type"))
    except pagerduty.InvalidEvent as exc:
        return JSONResponse(pagerduty.invalid(exc.errors), status_code=400)
    try:
        [dedup_key] = await take_in(
            request, context_of(request), parsed.routing_key, "pagerduty", lambda _: [parsed.event]
        )
    except alerts.UnknownKey as exc:
        return JSONResponse(pagerduty.invalid([exc.message]), status_code=400)
    except Throttled as exc:
        headers = {"Retry-After": retry_after_header(exc.wait)}
        return JSONResponse(pagerduty.throttled(), status_code=429, headers=headers)
    return JSONResponse(pagerduty.success(dedup_key), status_code=202)


#: Benchmarks only: mounted when ``TOCSIN_BENCH_BARE_ENDPOINT`` is set (``bench/ingest.py``).
bench_router = APIRouter(include_in_schema=False)
BARE_PATH = "/bench/bare"


@bench_router.post(BARE_PATH, status_code=202)
async def bare(request: Request) -> JSONResponse:
    """The server stack alone, as the baseline of ``/v2/enqueue``: parse the JSON body and
    answer as ``/v2/enqueue`` does, storing nothing."""
    data = json.loads(await request.body())
    return JSONResponse(pagerduty.success(str(data.get("dedup_key"))), status_code=202)


# --- webhooks ----------------------------------------------------------------------------


def _key(request: Request) -> str:
    """The integration key: in the path, else ``Authorization: Bearer KEY`` (or Basic
    with the key as password, for tools that only do Basic)."""
    in_path = request.path_params.get("key")
    if in_path:
        return str(in_path)
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            password = ""
        if password:
            return password
    raise Unauthenticated(
        "no integration key: put it at the end of the URL "
        f"({request.url.path.rstrip('/')}/KEY) or send it as Authorization: Bearer KEY",
        code="missing_integration_key",
    )


def _verify(receiver: alerts.Receiver, request: Request, body: bytes, ctx: Context) -> None:
    """Check the source's signature when the integration declares ``signing_secret_env``."""
    spec = receiver.spec
    scheme = signatures.SCHEMES.get(receiver.integration.type)
    if spec is None or spec.signing_secret_env is None or scheme is None:
        return
    secret = os.environ.get(spec.signing_secret_env, "")
    if not secret:
        log.error(
            "integration %s verifies signatures, but %s is not set: its events are refused",
            spec.key,
            spec.signing_secret_env,
        )
        raise Unavailable(
            f"integration {spec.key!r} verifies signatures, but its signing secret is not "
            "set on the server; nothing was stored",
            code="signing_secret_missing",
        )
    try:
        scheme(secret, body, request.headers, ctx.clock.now())
    except signatures.BadSignature as exc:
        raise Unauthenticated(f"bad signature: {exc}", code="bad_signature") from None


async def _webhook(
    request: Request, ctx: Context, integration_type: str, events: Events
) -> JSONResponse:
    """Take in one webhook: key, signature, events, in :func:`take_in`; answer 202 with the
    dedup keys, or Tocsin's error shape."""
    secret = _key(request)
    body = await request.body()

    def checked(receiver: alerts.Receiver) -> Sequence[IncomingEvent]:
        _verify(receiver, request, body, ctx)
        try:
            return events(receiver, body)
        except InvalidPayload as exc:
            raise TocsinError(
                f"invalid {integration_type} payload: {'; '.join(exc.errors)}",
                code="invalid_payload",
                details={"errors": exc.errors},
            ) from None

    try:
        keys = await take_in(request, ctx, secret, integration_type, checked)
    except alerts.UnknownKey as exc:
        raise Unauthenticated(_unknown_key(exc, integration_type), code="invalid_key") from None
    except Ignored as exc:
        return JSONResponse({"status": "ignored", "message": str(exc)}, status_code=200)
    except Throttled as exc:
        headers = {"Retry-After": retry_after_header(exc.wait)}
        return JSONResponse(exc.to_dict(), status_code=429, headers=headers)
    return JSONResponse({"status": "accepted", "dedup_keys": keys}, status_code=202)


def _unknown_key(exc: alerts.UnknownKey, integration_type: str) -> str:
    owner = exc.details if isinstance(exc.details, dict) else {}
    if "integration" not in owner:
        return "no integration has this key"
    return (
        f"this key belongs to integration {owner['integration']!r} of type {owner['type']}, "
        f"which does not take {integration_type} webhooks"
    )


def _content_type(request: Request) -> str | None:
    return request.headers.get("content-type")


@events_router.post(WEBHOOKS["alertmanager"])
@events_router.post(ENDPOINTS["alertmanager"])
async def alertmanager_webhook(request: Request, ctx: ContextDep) -> JSONResponse:
    """Prometheus Alertmanager's webhook (version 4): an event per alert of the group."""
    ctype = _content_type(request)
    return await _webhook(
        request, ctx, "alertmanager", lambda _, body: alertmanager.parse(body, ctype)
    )


@events_router.post(WEBHOOKS["grafana"])
@events_router.post(ENDPOINTS["grafana"])
async def grafana_webhook(request: Request, ctx: ContextDep) -> JSONResponse:
    """Grafana alerting's webhook contact point: an event per alert of the group."""
    ctype = _content_type(request)
    return await _webhook(request, ctx, "grafana", lambda _, body: grafana.parse(body, ctype))


@events_router.post(WEBHOOKS["sentry"])
@events_router.post(ENDPOINTS["sentry"])
async def sentry_webhook(request: Request, ctx: ContextDep) -> JSONResponse:
    """Sentry's integration-platform webhooks: issue alerts, metric alerts, issues."""
    ctype, resource = _content_type(request), request.headers.get(sentry.HEADER)
    return await _webhook(
        request, ctx, "sentry", lambda _, body: sentry.parse(body, ctype, resource)
    )


@events_router.post(WEBHOOKS["generic"])
@events_router.post(ENDPOINTS["generic"])
async def generic_webhook(request: Request, ctx: ContextDep) -> JSONResponse:
    """Any JSON, mapped to an alert by the integration's ``mapping``."""
    ctype = _content_type(request)

    def events(receiver: alerts.Receiver, body: bytes) -> list[IncomingEvent]:
        spec = receiver.spec
        mapping = spec.mapping if spec is not None and spec.mapping else WebhookMapping()
        return [generic.parse(body, ctype, mapping)]

    return await _webhook(request, ctx, "generic", events)


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
