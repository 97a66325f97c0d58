"""The Twilio-compatible REST API, shared by the SMS and voice channels (httpx).

``POST {base_url}/2010-04-01/Accounts/{account_sid}/{resource}.json``, form-encoded, with
HTTP basic auth (the account SID and the token from ``auth_token_env``, read at send
time). A 2xx is delivered and kept as ``HTTP <status> sid=<SID>``; 429 and 5xx, timeouts
and connection errors are temporary; other 4xx (a bad number, bad credentials) are
permanent, with the provider's answer. The token never appears in a reply or an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import quote

import httpx

from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret, tls_context
from tocsin.policy.schema_notify import SmsChannel, VoiceChannel

#: The channels that speak this API; they share its settings.
TwilioChannel = SmsChannel | VoiceChannel


def resource_url(spec: TwilioChannel, resource: Literal["Messages", "Calls"]) -> str:
    sid = quote(spec.account_sid, safe="")
    return f"{spec.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/{resource}.json"


async def create(
    spec: TwilioChannel,
    resource: Literal["Messages", "Calls"],
    form: Mapping[str, str],
    message: Message,
    *,
    label: str,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Create one ``resource`` (a message, a call); the reply to keep, or a failure whose
    text starts with ``label`` when the provider could not be reached."""
    token = secret(spec.auth_token_env, environ)
    assert token is not None  # auth_token_env is required
    headers = {"User-Agent": "Tocsin", "X-Tocsin-Idempotency-Key": message.idempotency_key}
    try:
        async with httpx.AsyncClient(
            timeout=spec.timeout, transport=transport, verify=tls_context()
        ) as client:
            answer = await client.post(
                resource_url(spec, resource),
                data=dict(form),
                headers=headers,
                auth=httpx.BasicAuth(spec.account_sid, token),
            )
    except httpx.TransportError as exc:
        raise TemporaryFailure(f"{label} {type(exc).__name__}: {exc}") from None
    reply = f"HTTP {answer.status_code} {answer.text[:500]}".rstrip()
    if answer.is_success:
        try:
            document = answer.json()
        except ValueError:
            document = None
        sid = document.get("sid") if isinstance(document, dict) else None
        return f"HTTP {answer.status_code} sid={sid}" if sid else reply
    if answer.status_code == 429 or answer.status_code >= 500:
        raise TemporaryFailure(reply, details={"status": answer.status_code})
    raise PermanentFailure(reply, details={"status": answer.status_code})
