"""The public doors of subscriptions: sign up, confirm, unsubscribe (no sign-in).

``POST /statuspage/subscribe`` takes JSON or an HTML form (``email`` or ``webhook``, and
``components`` to follow, repeatable in a form) and always answers 202 with the same
words, whether the address was known or not. The links in the messages lead to ``GET
/statuspage/confirm?token=...`` and ``GET|POST /statuspage/unsubscribe?token=...`` (POST
for mail clients' one-click ``List-Unsubscribe-Post``). A browser (it asks for HTML) gets a
short page in the status page's look and language instead of JSON. Like every compatibility door,
outside ``/api/v1`` and its OpenAPI document; the page and its Statuspage JSON are
served by :mod:`tocsin.statuspage.site`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from tocsin.alerts.ratelimit import RateLimiter, retry_after_header
from tocsin.auth.deps import ContextDep
from tocsin.context import Context
from tocsin.errors import InvalidInput, TocsinError
from tocsin.statuspage import schemas, site, subscribers

router = APIRouter(include_in_schema=False)
Token = Query(min_length=1, max_length=500)
FORM = "application/x-www-form-urlencoded"


class InvalidLink(TocsinError):
    status = 400
    code = "invalid_link"


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "statuspage_limiter", None)
    if limiter is None:
        limiter = request.app.state.statuspage_limiter = RateLimiter()
    return limiter


async def _sign_up_form(request: Request) -> dict[str, Any]:
    """The sign-up as sent: a JSON object or an HTML form."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError as exc:
            raise InvalidInput("the body is not JSON", details={"field": "body"}) from exc
        if not isinstance(body, dict):
            raise InvalidInput("send a JSON object", details={"field": "body"})
        return body
    if not request.headers.get("content-type", "").startswith(FORM):
        raise InvalidInput(f"send JSON or an HTML form ({FORM})", details={"field": "content-type"})
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    fields: dict[str, Any] = {
        key: form[key][0] for key in ("email", "webhook") if form.get(key, [""])[0].strip()
    }
    fields["components"] = form.get("components", [])
    return fields


async def _sign_up(request: Request, ctx: Context) -> schemas.SignUpOut:
    try:
        data = schemas.SubscribeIn.model_validate(await _sign_up_form(request))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", details={"field": where}) from None
    client = request.client.host if request.client else "unknown"
    async with ctx.db.write() as session:
        return await subscribers.sign_up(
            session, data, client_ip=client, limiter=_limiter(request), clock=ctx.clock
        )


async def _refused(request: Request, error: TocsinError) -> Response:
    """A browser gets a page saying what went wrong; other clients the API's error."""
    headers = {}
    if isinstance(error, subscribers.TooManySignUps):
        headers["Retry-After"] = retry_after_header(error.wait)
    if site.wants_html(request):
        answer: Response = await site.notice(
            request, "refused", status=error.status, detail=error.message
        )
    else:
        answer = JSONResponse(error.to_dict(), status_code=error.status)
    answer.headers.update(headers)
    return answer


@router.post("/statuspage/subscribe", status_code=202)
async def subscribe(request: Request, ctx: ContextDep) -> Response:
    try:
        answer = await _sign_up(request, ctx)
    except TocsinError as error:
        return await _refused(request, error)
    if site.wants_html(request):  # the page's form, without JavaScript
        return await site.notice(request, "signed_up", status=202)
    return JSONResponse(answer.model_dump(), status_code=202)


@router.get("/statuspage/confirm")
async def confirm(request: Request, ctx: ContextDep, token: str = Token) -> Response:
    async with ctx.db.write() as session:
        done = await subscribers.confirm(session, token, clock=ctx.clock)
    if not done:
        return await _refused(
            request, InvalidLink("this confirmation link is not valid (any more): sign up again")
        )
    if site.wants_html(request):
        return await site.notice(request, "confirmed")
    return JSONResponse({"status": "confirmed"})


@router.get("/statuspage/unsubscribe")
@router.post("/statuspage/unsubscribe")
async def unsubscribe(request: Request, ctx: ContextDep, token: str = Token) -> Response:
    async with ctx.db.write() as session:
        done = await subscribers.unsubscribe(session, token, clock=ctx.clock)
    if not done:
        return await _refused(request, InvalidLink("this unsubscribe link is not valid"))
    if site.wants_html(request):
        return await site.notice(request, "unsubscribed")
    return JSONResponse({"status": "unsubscribed"})
