"""Phone calls through a Twilio-compatible REST API (httpx): the message is read out.

``POST {base_url}/2010-04-01/Accounts/{account_sid}/Calls.json``, form-encoded ``To``
(the notification's recipient), ``From`` and ``Twiml``: ``<Say>`` in the channel's
``language``, twice, with a pause between, so someone woken by the call still hears it
all. Basic auth and the error mapping are SMS's (:mod:`tocsin.notify.channels.twilio`):
the reply kept is ``HTTP 201 sid=CA…``; 429, 5xx, timeouts and connection errors are
temporary; other 4xx are permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

import httpx

from tocsin.notify.channels import Message, twilio
from tocsin.policy.schema_notify import VoiceChannel

#: Characters read out per ``<Say>``: Twilio refuses a ``Twiml`` over 4000 characters,
#: and the text is said twice.
MAX_SPOKEN = 1500


def spoken(message: Message) -> str:
    """What the call says: the subject as a sentence, then the text, on one line."""
    parts = [message.subject.strip(), message.text.strip()]
    sentences = [p if p.endswith((".", "!", "?", ":")) else p + "." for p in parts if p]
    # One line, without control characters (which XML cannot carry).
    text = "".join(c for c in " ".join(" ".join(sentences).split()) if c >= " ")
    return text if len(text) <= MAX_SPOKEN else text[: MAX_SPOKEN - 1] + "…"


def twiml_of(message: Message, language: str) -> str:
    say = f"<Say language={quoteattr(language)}>{escape(spoken(message))}</Say>"
    return f'<Response>{say}<Pause length="1"/>{say}</Response>'


class VoiceSender:
    def __init__(
        self,
        spec: VoiceChannel,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.environ = environ
        self.transport = transport

    async def send(self, message: Message) -> str:
        form = {
            "To": message.recipient,
            "From": self.spec.from_,
            "Twiml": twiml_of(message, self.spec.language),
        }
        return await twilio.create(
            self.spec,
            "Calls",
            form,
            message,
            label="Voice",
            environ=self.environ,
            transport=self.transport,
        )
