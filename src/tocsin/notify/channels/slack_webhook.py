"""Slack incoming webhooks (httpx): ``{"text": ...}`` POSTed as JSON.

No token and no threads: the webhook posts to the one channel it was made for. Its URL is
itself the credential, so the policy only names the environment variable holding it
(``url_env``); the URL never appears in a reply or an error. Slack answers ``ok`` with
200. 429 and 5xx (``rollup_error``), timeouts and connection errors are temporary; other
4xx (``invalid_payload``, ``no_service``, ``channel_is_archived``, …) are permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tocsin.notify.channels import Message
from tocsin.notify.channels.secret_url import post_json
from tocsin.policy.schema_notify import SlackWebhookChannel


def escaped(text: str) -> str:
    """``&``, ``<`` and ``>`` as Slack wants them, so a title cannot become a link or a
    mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_of(message: Message) -> dict[str, Any]:
    """The subject in bold, a newline and the text (Slack ``mrkdwn``)."""
    text = escaped(message.text)
    if message.subject:
        text = f"*{escaped(message.subject)}*\n{text}"
    return {"text": text}


class SlackWebhookSender:
    def __init__(
        self,
        spec: SlackWebhookChannel,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.environ = environ
        self.transport = transport

    async def send(self, message: Message) -> str:
        return await post_json(
            label="Slack webhook",
            url_env=self.spec.url_env,
            payload=payload_of(message),
            idempotency_key=message.idempotency_key,
            seconds=self.spec.timeout,
            environ=self.environ,
            transport=self.transport,
        )
