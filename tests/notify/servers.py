"""Real local servers for delivery tests: an SMTP server (aiosmtpd) and an HTTP receiver."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Inbox:
    def __init__(self, replies: tuple[str, ...] = ()) -> None:
        #: The answer to each DATA in turn (then 250); a 4xx or 5xx keeps no message.
        self.replies = list(replies)
        self.logins: list[tuple[bytes, bytes]] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            reply = self.replies.pop(0)
            if not reply.startswith("2"):
                return reply
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.messages.append(mail)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(
    *replies: str, login: tuple[str, str] | None = None
) -> Iterator[tuple[int, _Inbox]]:
    """A real SMTP server on a free port; with ``login``, AUTH is required (over plain
    TCP, as this test server has no certificate)."""
    inbox = _Inbox(replies)
    port = free_port()
    options: dict[str, Any] = {}
    if login is not None:
        wanted = (login[0].encode(), login[1].encode())

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            pair = (bytes(data.login), bytes(data.password))
            inbox.logins.append(pair)
            return AuthResult(success=pair == wanted)

        options = {
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class ReceiverServer(ThreadingHTTPServer):
    #: A worker sends the deliveries it claimed together at once: a backlog of 5 (the
    #: default) would drop some of their connections for a second.
    request_queue_size = 64


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (then the last one, forever)."""

    url: str
    script: list[int]
    requests: list[Received] = field(default_factory=list)


@dataclass
class Answering:
    """Answers each POST with the next ``(status, JSON document)`` of ``script`` (then the
    last one, forever); ``base`` is the server's root URL, without a trailing slash."""

    base: str
    script: list[tuple[int, Any]]
    requests: list[Received] = field(default_factory=list)


@dataclass(frozen=True)
class Plain:
    """An answer in plain text rather than JSON (Slack's incoming webhooks say ``ok``)."""

    text: str


@contextmanager
def json_receiver(
    *script: tuple[int, Any], reply: Callable[[Received, int], Any] | None = None
) -> Iterator[Answering]:
    """An HTTP receiver speaking a provider's JSON: each answer is ``script``'s document,
    or, where that is ``None``, what ``reply(request, index)`` makes (a fresh Slack ``ts``);
    a :class:`Plain` document is answered as text."""
    answers = list(script) or [(200, {"ok": True})]
    lock = threading.Lock()
    holder: list[Answering] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with lock:
                receiver = holder[0]
                index = len(receiver.requests)
                receiver.requests.append(request)
                status, document = answers[min(index, len(answers) - 1)]
            if reply is not None and document is None:
                document = reply(request, index)
            if isinstance(document, Plain):
                payload, kind = document.text.encode(), "text/plain"
            else:
                payload, kind = json.dumps(document).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ReceiverServer(("127.0.0.1", 0), Handler)
    holder.append(Answering(f"http://127.0.0.1:{server.server_address[1]}", answers))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def http_receiver(*script: int) -> Iterator[Receiver]:
    """A webhook receiver at ``/hook``: :func:`json_receiver` answering with statuses only."""
    statuses = list(script) or [200]
    documents = [(s, {"ok": True} if s < 300 else {"error": "nope"}) for s in statuses]
    with json_receiver(*documents) as server:
        yield Receiver(f"{server.base}/hook", statuses, server.requests)
