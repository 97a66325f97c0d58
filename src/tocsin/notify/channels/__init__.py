"""Delivery channels: each sends one :class:`Message` and says how it went.

A channel's ``send`` returns the provider's reply (kept on the notification) or raises
:class:`TemporaryFailure` (worth retrying: a timeout, a 5xx, a 4xx SMTP reply) or
:class:`PermanentFailure` (retrying cannot help: a 4xx HTTP answer, a refused address, a
missing secret). Secrets are read from the environment variables the policy names, at
send time, and never appear in a reply or an error message.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import httpx
from pydantic import TypeAdapter

from tocsin.errors import TocsinError
from tocsin.policy.schema_notify import AnyChannel, ChannelSpec


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process for every HTTP channel: building one (loading the CA
    bundle) costs more CPU than the POST it is for."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Message:
    """One rendered message, as the outbox holds it."""

    id: int
    idempotency_key: str
    recipient: str
    subject: str
    text: str
    html: str | None = None
    incident: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: Where a provider with threads should file this message (Slack: the channel and
    #: ``ts`` of the incident's first message there), or ``None`` to start afresh.
    thread: dict[str, str] | None = None


class DeliveryError(TocsinError):
    status = 502
    code = "delivery_failed"


class TemporaryFailure(DeliveryError):
    """Delivery failed for now; the outbox tries again later."""

    code = "delivery_temporary_failure"


class PermanentFailure(DeliveryError):
    """Delivery cannot succeed as configured; the outbox gives up at once."""

    code = "delivery_permanent_failure"


class Channel(Protocol):
    async def send(self, message: Message) -> str:
        """Deliver ``message``; the provider's reply, or a :class:`DeliveryError`."""
        ...


_SPEC: TypeAdapter[ChannelSpec] = TypeAdapter(ChannelSpec)


def spec_from_dict(data: Mapping[str, Any]) -> AnyChannel:
    """A channel's settings as stored with a notification, back as a spec."""
    return _SPEC.validate_python(dict(data))


def secret(name: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the environment variable ``name`` (``None`` when no name is given)."""
    if name is None:
        return None
    value = (os.environ if environ is None else environ).get(name)
    if not value:
        raise PermanentFailure(
            f"environment variable {name} is not set", details={"environment_variable": name}
        )
    return value
