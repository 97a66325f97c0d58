"""Slack ``chat.postMessage`` through the official ``slack_sdk`` (AsyncWebClient).

The bot token comes from the environment variable ``token_env`` names. ``base_url`` is
configurable so a test (or a Slack-compatible server) can stand in for Slack. A message
with a :attr:`Message.thread` is posted as a reply in that thread (``thread_ts``); the
reply kept on the notification is JSON holding the ``channel`` and ``ts`` Slack gave it,
which is how the incident's later messages find their thread.

Errors: ``ratelimited``, HTTP 429 and 5xx, timeouts and connection errors are temporary;
any other ``ok: false`` (``channel_not_found``, ``invalid_auth``, …) is permanent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret
from tocsin.policy.schema_notify import SlackChannel

#: Slack ``error`` codes worth retrying even though the HTTP status says otherwise.
TEMPORARY_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"}
)


def text_of(message: Message) -> str:
    """The message as Slack shows it: the subject in bold, then the text."""
    if message.subject:
        return f"*{message.subject}*\n{message.text}"
    return message.text


def thread_of(reply: str | None) -> dict[str, str] | None:
    """The ``{"channel", "ts"}`` of a delivered Slack message, from its kept reply."""
    if not reply:
        return None
    try:
        document = json.loads(reply)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    channel, ts = document.get("channel"), document.get("ts")
    if isinstance(channel, str) and isinstance(ts, str) and channel and ts:
        return {"channel": channel, "ts": ts}
    return None


class SlackSender:
    def __init__(self, spec: SlackChannel, *, environ: Mapping[str, str] | None = None) -> None:
        self.spec = spec
        self.environ = environ

    async def send(self, message: Message) -> str:
        token = secret(self.spec.token_env, self.environ)
        base_url = (
            self.spec.base_url if self.spec.base_url.endswith("/") else self.spec.base_url + "/"
        )
        arguments: dict[str, Any] = {"channel": self.spec.channel, "text": text_of(message)}
        if message.thread is not None:
            arguments["channel"] = message.thread["channel"]
            arguments["thread_ts"] = message.thread["ts"]
        # No retry handlers: the outbox retries, with its backoff and its record of attempts.
        client = AsyncWebClient(
            token=token,
            base_url=base_url,
            timeout=max(1, round(self.spec.timeout)),
            retry_handlers=[],
            user_agent_prefix="Tocsin",
        )
        try:
            answer = await client.chat_postMessage(**arguments)
        except SlackApiError as exc:
            status = exc.response.status_code
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or "no error code")
            text = f"Slack HTTP {status} {error}"
            if error in TEMPORARY_ERRORS or status == 429 or status >= 500:
                raise TemporaryFailure(text, details={"status": status, "error": error}) from None
            raise PermanentFailure(text, details={"status": status, "error": error}) from None
        except (SlackClientError, OSError, TimeoutError) as exc:  # aiohttp errors are OSErrors
            raise TemporaryFailure(f"Slack {type(exc).__name__}") from None
        except Exception as exc:  # an unreadable answer: treat like any other glitch
            raise TemporaryFailure(f"Slack {type(exc).__name__}") from None
        ts, channel = answer.get("ts"), answer.get("channel")
        return json.dumps({"ok": True, "channel": channel, "ts": ts}, separators=(",", ":"))
