"""The e-mail as composed (the classic API, for speed) reads back the same with the modern
parser: non-ASCII subjects and names, the address kept readable, text and HTML parts."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from tocsin.clock import VirtualClock
from tocsin.notify.channels import Message
from tocsin.notify.channels.email import EmailSender
from tocsin.policy.schema_notify import EmailChannel

UNSUBSCRIBE = "https://status.example.com/statuspage/unsubscribe?token=" + "x" * 80
SUBJECT = "Storing: betaalstroom — «kritiek» voor gebruikers in Zürich " + "en verder " * 8


def read_back(sender: str, message: Message) -> EmailMessage:
    spec = EmailChannel.model_validate(
        {"key": "mail", "type": "email", "host": "127.0.0.1", "tls": "none", "from": sender}
    )
    clock = VirtualClock(datetime(2026, 12, 3, 4, 0, tzinfo=UTC))
    raw = EmailSender(spec, clock=clock).wire(message)
    assert raw.isascii(), "headers and bodies go out as 7-bit ASCII"
    assert all(
        line.startswith(b" ") is False for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    ), "no header is folded onto a continuation line"
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def test_non_ascii_subject_names_and_both_parts_read_back_unchanged() -> None:
    message = Message(
        id=7,
        idempotency_key="inc:7:declared",
        recipient="Ønne de Vries <oncall@example.com>",
        subject=SUBJECT,
        text="Hallo,\n\nDe betaalstroom werkt niet (ü).\n",
        html="<p>De betaalstroom werkt <b>niet</b> (ü).</p>",
        incident="INC-2026-12-03-001",
        data={"list_unsubscribe": UNSUBSCRIBE},
    )
    mail = read_back("Tocsin Öps <tocsin@example.com>", message)
    assert mail["Subject"] == SUBJECT
    (sender,) = mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Tocsin Öps", "tocsin@example.com")
    (to,) = mail["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Ønne de Vries", "oncall@example.com")
    assert mail["X-Tocsin-Incident"] == "INC-2026-12-03-001"
    assert mail["X-Tocsin-Idempotency-Key"] == "inc:7:declared"
    assert mail["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert mail["Message-ID"].endswith("@example.com>")
    assert mail["Date"].datetime == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert html.get_content().strip() == message.html


def test_a_message_without_html_is_a_single_text_part() -> None:
    message = Message(
        id=8, idempotency_key="k8", recipient="oncall@example.com", subject="Ack", text="ok\n"
    )
    mail = read_back("tocsin@example.com", message)
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content() == "ok\r\n"  # lines end in CRLF on the wire
    assert str(mail["From"]) == "tocsin@example.com"
