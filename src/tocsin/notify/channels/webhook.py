"""Generic webhooks (httpx): a JSON POST that receivers can verify.

Headers: ``X-Tocsin-Timestamp`` (Unix seconds) and ``X-Tocsin-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>``, plus
``X-Tocsin-Idempotency-Key`` so a receiver can drop a repeat after a worker crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from tocsin.clock import Clock
from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret, tls_context
from tocsin.policy.schema_notify import WebhookChannel


def signature(secret_value: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``<timestamp>.<body>``: what a receiver recomputes."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret_value.encode(), signed, hashlib.sha256).hexdigest()


def body_of(message: Message) -> bytes:
    document: dict[str, Any] = {
        "id": message.id,
        "idempotency_key": message.idempotency_key,
        "recipient": message.recipient,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "incident": message.incident,
        "data": message.data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender:
    def __init__(
        self,
        spec: WebhookChannel,
        *,
        clock: Clock,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.environ = environ
        self.transport = transport

    async def send(self, message: Message) -> str:
        key = secret(self.spec.secret_env, self.environ)
        body = body_of(message)
        timestamp = str(int(self.clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tocsin",
            "X-Tocsin-Timestamp": timestamp,
            "X-Tocsin-Idempotency-Key": message.idempotency_key,
        }
        if key is not None:
            headers["X-Tocsin-Signature"] = signature(key, timestamp, body)
        try:
            async with httpx.AsyncClient(
                timeout=self.spec.timeout, transport=self.transport, verify=tls_context()
            ) as client:
                answer = await client.post(self.spec.url, content=body, headers=headers)
        except httpx.TransportError as exc:  # timeouts, refused connections, broken streams
            raise TemporaryFailure(f"webhook {type(exc).__name__}: {exc}") from None
        reply = f"HTTP {answer.status_code} {answer.text[:500]}".rstrip()
        if answer.is_success:
            return reply
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TemporaryFailure(reply, details={"status": answer.status_code})
        raise PermanentFailure(reply, details={"status": answer.status_code})
