"""E-mail over SMTP (aiosmtplib): plain text, plus an HTML alternative when there is one."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from tocsin.clock import Clock
from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret
from tocsin.policy.schema_notify import EmailChannel

_local_hostname: str | None = None


async def local_hostname() -> str:
    """This host's name for EHLO, looked up once per process (aiosmtplib would ask the
    resolver, in a thread, on every connection)."""
    global _local_hostname
    if _local_hostname is None:
        _local_hostname = await asyncio.to_thread(socket.getfqdn)
    return _local_hostname


class EmailSender:
    def __init__(
        self, spec: EmailChannel, *, clock: Clock, environ: Mapping[str, str] | None = None
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.environ = environ

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.spec.from_
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(self.clock.now())
        domain = self.spec.from_.rpartition("@")[2].strip(">") or "tocsin"
        mail["Message-ID"] = make_msgid(idstring=f"tocsin-{message.id}", domain=domain)
        mail["X-Tocsin-Idempotency-Key"] = message.idempotency_key
        if message.incident:
            mail["X-Tocsin-Incident"] = message.incident
        leave = message.data.get("list_unsubscribe")
        if isinstance(leave, str) and leave:
            # RFC 8058: mail clients offer a one-click unsubscribe button (status page).
            mail["List-Unsubscribe"] = f"<{leave}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: Message) -> str:
        spec = self.spec
        password = secret(spec.password_env, self.environ)
        try:
            _refused, reply = await aiosmtplib.send(
                self.compose(message),
                hostname=spec.host,
                port=spec.effective_port,
                username=spec.username,
                password=password,
                use_tls=spec.tls == "implicit",
                start_tls=spec.tls == "starttls",
                timeout=spec.timeout,
                local_hostname=await local_hostname(),
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            text = (
                f"recipient refused: {'; '.join(f'{e.code} {e.message}' for e in exc.recipients)}"
            )
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(text) from None
            raise TemporaryFailure(text) from None
        except aiosmtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.code} {exc.message}"
            if 500 <= exc.code < 600:
                raise PermanentFailure(text) from None
            raise TemporaryFailure(text) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"SMTP {type(exc).__name__}: {exc}") from None
        return f"250 {reply}"  # aiosmtplib gives the text of the final 250 reply
