"""E-mail over SMTP (aiosmtplib): plain text, plus an HTML alternative when there is one."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Mapping
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.message import Message as EmailMessageBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

import aiosmtplib

from tocsin.clock import Clock
from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret
from tocsin.policy.schema_notify import EmailChannel

_local_hostname: str | None = None
#: UTF-8 bodies as quoted-printable (readable in the raw message, as ASCII text stays).
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
#: Headers unfolded: a folded List-Unsubscribe address would start on a continuation
#: line, which some readers keep as leading blank space.
_POLICY = compat32.clone(max_line_length=None)
_WIRE = _POLICY.clone(linesep="\r\n")


def _text(text: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, policy=_POLICY)
    part.set_payload(text, _UTF8)
    return part


def _address(value: str) -> str:
    """``Name <addr>`` or ``addr`` with a non-ASCII name encoded, the address left as is."""
    name, address = parseaddr(value)
    if not address:
        return value
    return formataddr((name, address)) if name else address


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

    def compose(self, message: Message) -> EmailMessageBase:
        """The e-mail, built with the classic (compat32) API: a quarter of the CPU of the
        modern one, which parses every header it is given. Non-ASCII subjects and names
        go out as RFC 2047 words (names through ``formataddr``, so the address stays
        readable), bodies as quoted-printable UTF-8."""
        body = _text(message.text, "plain")
        if message.html is None:
            mail: EmailMessageBase = body
        else:
            mail = MIMEMultipart("alternative", policy=_POLICY)
            mail.attach(body)
            mail.attach(_text(message.html, "html"))
        mail["From"] = _address(self.spec.from_)
        mail["To"] = _address(message.recipient)
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
        return mail

    def wire(self, message: Message) -> bytes:
        """The composed e-mail as sent: CRLF lines, headers unfolded (aiosmtplib would
        fold them at 78 characters)."""
        with io.BytesIO() as out:
            BytesGenerator(out, policy=_WIRE).flatten(self.compose(message))
            return out.getvalue()

    async def send(self, message: Message) -> str:
        spec = self.spec
        password = secret(spec.password_env, self.environ)
        try:
            _refused, reply = await aiosmtplib.send(
                self.wire(message),
                sender=parseaddr(spec.from_)[1] or spec.from_,
                recipients=[parseaddr(message.recipient)[1] or message.recipient],
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
