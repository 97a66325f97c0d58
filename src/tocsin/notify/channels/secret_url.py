"""POST JSON to a webhook whose URL is itself a secret (Teams, Slack incoming webhooks).

The URL comes from an environment variable at send time and never appears in a reply or
an error: a transport error is reported by its type only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tocsin.notify.channels import PermanentFailure, TemporaryFailure, secret, tls_context


async def post_json(
    *,
    label: str,
    url_env: str,
    payload: dict[str, Any],
    idempotency_key: str,
    seconds: float,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """The provider's reply; 429 and 5xx are temporary failures, other errors permanent."""
    url = secret(url_env, environ)
    assert url is not None  # the *_env setting is required
    if not url.startswith(("https://", "http://")):
        raise PermanentFailure(
            f"environment variable {url_env} does not hold an http(s) URL",
            details={"environment_variable": url_env},
        )
    headers = {"User-Agent": "Tocsin", "X-Tocsin-Idempotency-Key": idempotency_key}
    try:
        async with httpx.AsyncClient(
            timeout=seconds, transport=transport, verify=tls_context()
        ) as client:
            answer = await client.post(url, json=payload, headers=headers)
    except httpx.TransportError as exc:  # never the exception's text: it may hold the URL
        raise TemporaryFailure(f"{label} {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise PermanentFailure(f"{label} {type(exc).__name__}") from None
    reply = f"HTTP {answer.status_code} {answer.text[:500]}".rstrip()
    if answer.is_success:
        return reply
    if answer.status_code == 429 or answer.status_code >= 500:
        raise TemporaryFailure(reply, details={"status": answer.status_code})
    raise PermanentFailure(reply, details={"status": answer.status_code})
