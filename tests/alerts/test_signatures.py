"""Signatures of incoming webhooks, pure: good, bad, missing and expired, for each scheme.

The generic scheme is checked against Tocsin's own outgoing webhooks' signing
(``notify/channels/webhook.py``): what one Tocsin sends, another takes.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.alerts.signatures import BadSignature, generic, grafana, sentry
from tocsin.notify.channels.webhook import signature as outgoing

SECRET = "s3cret"
BODY = b'{"summary":"Checkout is down"}'
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
STAMP = str(int(NOW.timestamp()))


def _hex(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_sentry() -> None:
    sentry(SECRET, BODY, {"sentry-hook-signature": _hex(BODY)}, NOW)
    with pytest.raises(BadSignature, match="Sentry-Hook-Signature header is missing"):
        sentry(SECRET, BODY, {}, NOW)
    with pytest.raises(BadSignature, match="does not match the body"):
        sentry(SECRET, BODY + b" ", {"sentry-hook-signature": _hex(BODY)}, NOW)
    with pytest.raises(BadSignature, match="does not match"):
        sentry(SECRET, BODY, {"sentry-hook-signature": _hex(BODY, "other")}, NOW)


def test_grafana_with_and_without_a_timestamp() -> None:
    grafana(SECRET, BODY, {"x-grafana-alerting-signature": _hex(BODY)}, NOW)
    stamped = {
        "x-grafana-alerting-signature": _hex(STAMP.encode() + b":" + BODY),
        "x-grafana-alerting-timestamp": STAMP,
    }
    grafana(SECRET, BODY, stamped, NOW + timedelta(minutes=4))
    with pytest.raises(BadSignature, match="more than 5 minutes"):
        grafana(SECRET, BODY, stamped, NOW + timedelta(minutes=6))
    with pytest.raises(BadSignature, match="does not match"):  # the body alone is not enough
        grafana(SECRET, BODY, {**stamped, "x-grafana-alerting-signature": _hex(BODY)}, NOW)
    with pytest.raises(BadSignature, match="X-Grafana-Alerting-Signature header is missing"):
        grafana(SECRET, BODY, {"x-grafana-alerting-timestamp": STAMP}, NOW)


def test_generic_takes_what_tocsins_own_webhooks_send() -> None:
    headers = {"x-tocsin-timestamp": STAMP, "x-tocsin-signature": outgoing(SECRET, STAMP, BODY)}
    generic(SECRET, BODY, headers, NOW)
    generic(SECRET, BODY, headers, NOW - timedelta(minutes=5))
    with pytest.raises(BadSignature, match="more than 5 minutes from the server's time"):
        generic(SECRET, BODY, headers, NOW - timedelta(minutes=5, seconds=1))
    with pytest.raises(BadSignature, match="X-Tocsin-Timestamp header is missing"):
        generic(SECRET, BODY, {"x-tocsin-signature": headers["x-tocsin-signature"]}, NOW)
    with pytest.raises(BadSignature, match="does not match"):
        generic(SECRET, BODY, {**headers, "x-tocsin-timestamp": str(int(STAMP) + 1)}, NOW)


def test_generic_in_one_header() -> None:
    digest = _hex(STAMP.encode() + b"." + BODY)
    generic(SECRET, BODY, {"x-tocsin-signature": f"t={STAMP},v1={digest}"}, NOW)
    generic(SECRET, BODY, {"x-tocsin-signature": f"t={STAMP}, v1={digest.upper()}"}, NOW)
    with pytest.raises(BadSignature, match="X-Tocsin-Signature header is missing"):
        generic(SECRET, BODY, {}, NOW)
    with pytest.raises(BadSignature, match="does not match"):
        generic(SECRET, BODY, {"x-tocsin-signature": f"t={STAMP},v1={_hex(BODY)}"}, NOW)
    with pytest.raises(BadSignature, match="not a Unix time"):
        generic(SECRET, BODY, {"x-tocsin-signature": f"t=noon,v1={digest}"}, NOW)
    old = str(int(STAMP) - 3600)
    stale = f"t={old},v1={_hex(old.encode() + b'.' + BODY)}"
    with pytest.raises(BadSignature, match="more than 5 minutes"):
        generic(SECRET, BODY, {"x-tocsin-signature": stale}, NOW)
