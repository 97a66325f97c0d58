"""SMS through a Twilio-compatible REST API (httpx).

``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json``, form-encoded ``To``
(the notification's recipient), ``From`` and ``Body``, with HTTP basic auth (the account
SID and the token from ``auth_token_env``). 429 and 5xx, timeouts and connection errors
are temporary; other 4xx (a bad number, bad credentials) are permanent. The request and
its error mapping are :mod:`tocsin.notify.channels.twilio`, shared with voice calls.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from tocsin.notify.channels import Message, twilio
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
        return twilio.resource_url(self.spec, "Messages")

    async def send(self, message: Message) -> str:
        form = {"To": message.recipient, "From": self.spec.from_, "Body": body_of(message)}
        return await twilio.create(
            self.spec,
            "Messages",
            form,
            message,
            label="SMS",
            environ=self.environ,
            transport=self.transport,
        )
