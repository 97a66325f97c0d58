"""Microsoft Teams incoming webhooks (httpx): a simple MessageCard POSTed as JSON.

A Teams webhook URL is itself the credential, so the policy only names the environment
variable holding it (``url_env``); the URL never appears in a reply or an error.
429 and 5xx, timeouts and connection errors are temporary; other answers are permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tocsin.notify.channels import Message
from tocsin.notify.channels.secret_url import post_json
from tocsin.policy.schema_notify import TeamsChannel


def card_of(message: Message) -> dict[str, Any]:
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": message.subject or message.text[:100],
        "title": message.subject,
        "text": message.text,
    }
    if message.incident:
        card["sections"] = [{"facts": [{"name": "Incident", "value": message.incident}]}]
    return card


class TeamsSender:
    def __init__(
        self,
        spec: TeamsChannel,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.environ = environ
        self.transport = transport

    async def send(self, message: Message) -> str:
        return await post_json(
            label="Teams",
            url_env=self.spec.url_env,
            payload=card_of(message),
            idempotency_key=message.idempotency_key,
            seconds=self.spec.timeout,
            environ=self.environ,
            transport=self.transport,
        )
