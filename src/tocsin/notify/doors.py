"""Doors for people and for the SMS provider: the acknowledge link and Twilio's inbound
SMS webhook.

``GET /ack/{token}`` only shows what the link is for and a button: mail scanners and link
previews fetch links, so a GET never changes anything. ``POST /ack/{token}`` (the button)
acknowledges. Both answer HTML (no JavaScript) to browsers, and JSON in the API's one
error shape to clients that ask for ``application/json`` or do not ask for HTML.
``POST /api/v1/notify/sms/inbound`` takes Twilio's inbound SMS webhook (a form, signed
with ``X-Twilio-Signature``) and answers TwiML.

Like the other compatibility doors (``alerts/doors.py``), they authenticate by what they
carry (a signed link, Twilio's signature), not by an API token, and are described in
``docs/notifications.md`` rather than in the OpenAPI document of Tocsin's own API.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from tocsin.auth.deps import ContextDep
from tocsin.comms.context import format_time
from tocsin.errors import Forbidden, TocsinError
from tocsin.incidents.models import Incident
from tocsin.notify import acks
from tocsin.notify.schemas import AckIncidentOut, AckLinkOut, AcknowledgementOut, AckOut

#: ``/ack/{token}``: at the root, because people open it from a page.
router = APIRouter(tags=["acknowledge"], include_in_schema=False)
#: Mounted under ``/api/v1``, where the SMS provider is pointed.
api_router = APIRouter(prefix="/notify", tags=["notify"], include_in_schema=False)

_HEADINGS = {
    "ack_link_invalid": "This link is not valid",
    "ack_expired": "This link has expired",
    "ack_used": "This link was already used",
    "ack_no_user": "You cannot acknowledge from here",
    "permission_denied": "You cannot acknowledge this incident",
    "not_found": "Incident not found",
}


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("tocsin.notify", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _wants_json(request: Request) -> bool:
    """JSON for API clients (``Accept: application/json``, or anything that does not ask
    for HTML); the HTML pages for browsers, which always ask for ``text/html``."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept or "text/html" not in accept


def _html(name: str, status: int, **fields: Any) -> HTMLResponse:
    page = _templates().get_template(name).render(**fields)
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    return HTMLResponse(page, status_code=status, headers=headers)


def _incident(incident: Incident) -> AckIncidentOut:
    return AckIncidentOut(
        ref=incident.ref, title=incident.title, severity=incident.severity, status=incident.status
    )


def _acknowledgement(ack: acks.Acknowledgement) -> AcknowledgementOut:
    return AcknowledgementOut(by=ack.by, at=ack.at, via=ack.via)


def _when(moment: datetime | None, zone: str) -> str:
    return format_time(moment, zone) or "an unknown time"


def _already(state: acks.AckState, what: str = "this link") -> str:
    ack = state.acknowledged
    assert ack is not None
    how = f" via {ack.via}" if ack.via else ""
    return (
        f"{state.incident.ref} was already acknowledged by {ack.by} at "
        f"{_when(ack.at, state.timezone)}{how}. Nothing was changed; {what} was not used."
    )


def _refused(request: Request, error: TocsinError) -> Response:
    if _wants_json(request):
        return JSONResponse(error.to_dict(), status_code=error.status)
    heading = _HEADINGS.get(error.code, "This link cannot acknowledge")
    message = error.message[:1].upper() + error.message[1:] + ". Nothing was changed."
    return _html("ack_result.html", error.status, heading=heading, message=message, refused=True)


@router.get("/ack/{token}", response_model=AckLinkOut)
async def show(token: str, request: Request, ctx: ContextDep) -> Response:
    """What the link acknowledges, with a button; changes nothing."""
    try:
        async with ctx.db.read() as session:
            state = await acks.inspect(session, token, clock=ctx.clock)
    except TocsinError as error:
        return _refused(request, error)
    if _wants_json(request):
        body = AckLinkOut(
            state="ready" if state.acknowledged is None else "already_acknowledged",
            person=state.person,
            incident=_incident(state.incident),
            expires_at=state.token.expires_at,
            acknowledged=_acknowledgement(state.acknowledged) if state.acknowledged else None,
        )
        return JSONResponse(body.model_dump(mode="json"))
    if state.acknowledged is not None:
        return _html(
            "ack_result.html",
            200,
            heading=f"{state.incident.ref} is already acknowledged",
            message=_already(state),
            incident=state.incident,
            refused=False,
        )
    return _html(
        "ack_confirm.html",
        200,
        heading=f"Acknowledge {state.incident.ref}?",
        person=state.person,
        incident=state.incident,
        action=request.url.path,
        expires=_when(state.token.expires_at, state.timezone),
    )


@router.post("/ack/{token}", response_model=AckOut)
async def acknowledge(token: str, request: Request, ctx: ContextDep) -> Response:
    """Acknowledge the incident as the paged person; the link works once."""
    try:
        async with ctx.db.write() as session:
            outcome = await acks.acknowledge_link(session, token, clock=ctx.clock)
    except TocsinError as error:
        return _refused(request, error)
    state = outcome.state
    if _wants_json(request):
        body = AckOut(
            outcome=outcome.outcome,
            person=state.person,
            incident=_incident(state.incident),
            acknowledged=_acknowledgement(outcome.acknowledgement),
        )
        return JSONResponse(body.model_dump(mode="json"))
    if outcome.outcome == "already_acknowledged":
        heading = f"{state.incident.ref} is already acknowledged"
        message = _already(state)
    else:
        heading = f"{state.incident.ref} acknowledged"
        at = _when(outcome.acknowledgement.at, state.timezone)
        message = f"Thank you, {state.person}: you acknowledged {state.incident.ref} at {at}."
    return _html(
        "ack_result.html",
        200,
        heading=heading,
        message=message,
        incident=state.incident,
        refused=False,
    )


def _twiml(message: str, status: int = 200) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Message>{escape(message)}</Message></Response>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def _sms_reply(error: TocsinError) -> str:
    if error.code == "ack_code_unknown":
        return "Unknown or expired code. Reply with the 6-digit code from the page."
    if error.code in ("ack_expired", "ack_used"):
        return error.message[:1].upper() + error.message[1:] + "."
    return f"Not acknowledged: {error.message}."


@api_router.post("/sms/inbound")
async def sms_inbound(request: Request, ctx: ContextDep) -> Response:
    """Twilio's inbound SMS webhook: a reply with a page's code acknowledges it (TwiML)."""
    raw = (await request.body()).decode("utf-8", "replace")
    params = parse_qsl(raw, keep_blank_values=True)
    url = ctx.settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    async with ctx.db.read() as session:
        trusted = await acks.inbound_trusted(session, url, params, signature)
    if not trusted:
        error = Forbidden(
            "the X-Twilio-Signature header does not match this request",
            code="bad_signature",
            details={"url": url},
        )
        return JSONResponse(error.to_dict(), status_code=error.status)
    form = dict(params)
    try:
        async with ctx.db.write() as session:
            outcome = await acks.acknowledge_reply(
                session, form.get("From", ""), form.get("Body", ""), clock=ctx.clock
            )
    except TocsinError as error:
        return _twiml(_sms_reply(error))
    state = outcome.state
    if outcome.outcome == "already_acknowledged":
        return _twiml(_already(state, "your code"))
    return _twiml(f"Acknowledged {state.incident.ref}: {state.incident.title}")
