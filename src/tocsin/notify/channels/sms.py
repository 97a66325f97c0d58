"""SMS through a Twilio-compatible REST API (httpx).

``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json``, form-encoded ``To``
(the notification's recipient), ``From`` and ``Body``, with HTTP basic auth (the account
SID and the token from ``auth_token_env``). 429 and 5xx, timeouts and connection errors
are temporary; other 4xx (a bad number, bad credentials) are permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret
from tocsin.policy.schema_notify import SmsChannel

#: Twilio splits longer bodies into segments and refuses more than 1600 characters.
MAX_BODY = 1600


def body_of(message: Message) -> str:
    text = f"{message.subject}\n{message.text}" if message.subject else message.text
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1] + "…"


class SmsSender:
    def __init__(
        self,
        spec: SmsChannel,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.environ = environ
        self.transport = transport

    def url(self) -> str:
        sid = quote(self.spec.account_sid, safe="")
        return f"{self.spec.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"

    async def send(self, message: Message) -> str:
        token = secret(self.spec.auth_token_env, self.environ)
        assert token is not None  # auth_token_env is required
        form = {"To": message.recipient, "From": self.spec.from_, "Body": body_of(message)}
        headers = {"User-Agent": "Tocsin", "X-Tocsin-Idempotency-Key": message.idempotency_key}
        try:
            async with httpx.AsyncClient(
                timeout=self.spec.timeout, transport=self.transport
            ) as client:
                answer = await client.post(
                    self.url(),
                    data=form,
                    headers=headers,
                    auth=httpx.BasicAuth(self.spec.account_sid, token),
                )
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"SMS {type(exc).__name__}: {exc}") from None
        reply = f"HTTP {answer.status_code} {answer.text[:500]}".rstrip()
        if answer.is_success:
            try:
                sid = answer.json().get("sid")
            except ValueError:
                sid = None
            return f"HTTP {answer.status_code} sid={sid}" if sid else reply
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TemporaryFailure(reply, details={"status": answer.status_code})
        raise PermanentFailure(reply, details={"status": answer.status_code})
