"""Signatures of incoming webhooks: proof that a body comes from who holds the secret.
Pure: the headers, the raw body and the time are passed in.

- ``sentry``: ``Sentry-Hook-Signature``, hex HMAC-SHA256 of the body with the
  integration's client secret.
- ``grafana``: ``X-Grafana-Alerting-Signature``, hex HMAC-SHA256 of the body, or of
  ``<timestamp>:<body>`` when the contact point also sends ``X-Grafana-Alerting-Timestamp``.
- ``generic``: Tocsin's own scheme, the one its outgoing webhooks sign with
  (:func:`tocsin.notify.channels.webhook.signature`): HMAC-SHA256 of ``<timestamp>.<body>``,
  sent as ``X-Tocsin-Timestamp: <unix>`` with ``X-Tocsin-Signature: sha256=<hex>``, or in
  one header as ``X-Tocsin-Signature: t=<unix>,v1=<hex>``.

A timestamp must lie within :data:`TOLERANCE` of now, so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from tocsin.notify.channels.webhook import signature as tocsin_signature

TOLERANCE = timedelta(minutes=5)

Headers = Mapping[str, str]


class BadSignature(Exception):
    """The signature is missing, wrong or too old; the message says which."""


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _header(headers: Headers, name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise BadSignature(f"the {name} header is missing")
    return value


def _fresh(stamp: str, header: str, now: datetime) -> None:
    try:
        sent = int(stamp.strip())
    except ValueError:
        raise BadSignature(f"{header} is not a Unix time in seconds") from None
    if abs(now.timestamp() - sent) > TOLERANCE.total_seconds():
        raise BadSignature(
            f"{header} is more than {int(TOLERANCE.total_seconds() // 60)} minutes from the "
            "server's time (an old request replayed, or a clock that is wrong)"
        )


def sentry(secret: str, body: bytes, headers: Headers, now: datetime) -> None:
    given = _header(headers, "Sentry-Hook-Signature")
    if not _same(_hex(secret, body), given):
        raise BadSignature("the Sentry-Hook-Signature header does not match the body")


def grafana(secret: str, body: bytes, headers: Headers, now: datetime) -> None:
    given = _header(headers, "X-Grafana-Alerting-Signature")
    stamp = headers.get("x-grafana-alerting-timestamp")
    signed = body
    if stamp is not None:
        _fresh(stamp, "X-Grafana-Alerting-Timestamp", now)
        signed = stamp.encode() + b":" + body
    if not _same(_hex(secret, signed), given):
        raise BadSignature("the X-Grafana-Alerting-Signature header does not match the body")


def generic(secret: str, body: bytes, headers: Headers, now: datetime) -> None:
    given = _header(headers, "X-Tocsin-Signature")
    if given.strip().startswith("t="):
        parts = dict(p.strip().split("=", 1) for p in given.split(",") if "=" in p)
        stamp, digest = parts.get("t", ""), "sha256=" + parts.get("v1", "")
        where = "X-Tocsin-Signature's t="
    else:
        stamp, digest = headers.get("x-tocsin-timestamp", ""), given
        where = "X-Tocsin-Timestamp"
        if not stamp:
            raise BadSignature(
                "the X-Tocsin-Timestamp header is missing (or send "
                "X-Tocsin-Signature: t=<unix>,v1=<hex>)"
            )
    _fresh(stamp, where, now)
    if not _same(tocsin_signature(secret, stamp.strip(), body), digest):
        raise BadSignature("the X-Tocsin-Signature header does not match the body")


#: Integration type → its source's scheme (the types of ``SIGNED_TYPES``).
Verify = Callable[[str, bytes, Headers, datetime], None]
SCHEMES: dict[str, Verify] = {"sentry": sentry, "grafana": grafana, "generic": generic}
