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

from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret
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
        url = secret(self.spec.url_env, self.environ)
        assert url is not None  # url_env is required
        if not url.startswith(("https://", "http://")):
            raise PermanentFailure(
                f"environment variable {self.spec.url_env} does not hold an http(s) URL",
                details={"environment_variable": self.spec.url_env},
            )
        headers = {"User-Agent": "Tocsin", "X-Tocsin-Idempotency-Key": message.idempotency_key}
        try:
            async with httpx.AsyncClient(
                timeout=self.spec.timeout, transport=self.transport
            ) as client:
                answer = await client.post(url, json=payload_of(message), headers=headers)
        except httpx.TransportError as exc:  # never the exception's text: it may hold the URL
            raise TemporaryFailure(f"Slack webhook {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise PermanentFailure(f"Slack webhook {type(exc).__name__}") from None
        reply = f"HTTP {answer.status_code} {answer.text[:500]}".rstrip()
        if answer.is_success:
            return reply
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TemporaryFailure(reply, details={"status": answer.status_code})
        raise PermanentFailure(reply, details={"status": answer.status_code})
