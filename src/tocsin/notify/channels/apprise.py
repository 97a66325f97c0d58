"""The long tail (Discord, Telegram, Mattermost, ntfy, Pushover, …) through Apprise.

Where a message goes: its recipient, when that is an Apprise URL (a person's ``apprise``
contact, ``ntfy://ntfy.example.com/dana``), else the channel's own URLs, read at send time
from the environment variable ``urls_env`` names (space- or comma-separated: Apprise URLs
carry their tokens). The title is the subject, the body the text, as plain text.

Apprise is synchronous, so it runs in a thread. It tells only whether every service
took the message: an Apprise URL it cannot use is permanent (retrying cannot help); any
other failure (a 4xx or 5xx, a timeout, a refused connection) is temporary. A retry
sends to every URL again, so with several URLs one that took the message may see it
twice. Errors say which services failed and what Apprise logged, with each URL cut to
its scheme and host (``mmost://chat.example.com/…``) and every token taken out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from urllib.parse import unquote

from apprise import Apprise, AppriseAsset, AppriseResult, NotifyFormat, NotifyType

from tocsin.notify.channels import Message, PermanentFailure, TemporaryFailure, secret
from tocsin.policy.schema_notify import AppriseChannel

_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*"
#: One Apprise URL (any scheme Apprise knows is checked when it is added).
URL = re.compile(rf"^{_SCHEME}://\S+$")
#: Between two URLs: white space, or a comma before the next ``scheme://`` (a comma
#: inside a URL, ``?to=a,b``, stays).
SEPARATOR = re.compile(rf"\s+|,\s*(?={_SCHEME}://)")
#: A host worth showing: a dotted name, ``localhost`` or an IP address, with a port. Some
#: services keep a token where the host goes (``tgram://<bot token>/<chat>``).
SHOWN_HOST = re.compile(
    r"^(?:localhost|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::\d{1,5})?$"
)
#: Apprise's own log lines kept in an error, at most.
MAX_LOG = 1500


def is_apprise_url(value: str) -> bool:
    return URL.match(value.strip()) is not None


def split_urls(value: str) -> list[str]:
    """The URLs in an environment variable's value."""
    parts = (part.strip(",") for part in SEPARATOR.split(value.strip()))
    return [part for part in parts if part]


def _parts(url: str) -> tuple[str, str, str, str, str]:
    """``(scheme, credentials, host, path, query)`` of a URL, without parsing its port
    (which, for some services, is a token)."""
    scheme, _, rest = url.partition("://")
    rest = rest.split("#", 1)[0]
    location, _, query = rest.partition("?")
    netloc, _, path = location.partition("/")
    credentials, _, host = netloc.rpartition("@")
    return scheme, credentials, host, path, query


def redacted(url: str) -> str:
    """``scheme://host/…``: what a URL may show of itself in a reply or an error."""
    scheme, _, host, _, _ = _parts(url.strip())
    if not re.fullmatch(_SCHEME, scheme):
        return "…"
    return f"{scheme.lower()}://{host if SHOWN_HOST.match(host) else '…'}/…"


def secrets_of(url: str) -> set[str]:
    """Everything in ``url`` that may be a token: credentials, path segments, query
    values and a host that is not a host name (four characters or more)."""
    _, credentials, host, path, query = _parts(url)
    found = {url, *credentials.split(":"), *path.split("/")}
    if not SHOWN_HOST.match(host):
        found |= {host, *host.split(":")}
    for pair in query.split("&"):
        value = pair.partition("=")[2]
        found |= {value, *value.split(",")}
    found |= {unquote(part) for part in found}
    return {part for part in found if len(part) >= 4}


def scrubbed(text: str, urls: list[str]) -> str:
    """``text`` with every possible token of ``urls`` replaced by ``…``."""
    for part in sorted(set().union(*(secrets_of(u) for u in urls)), key=len, reverse=True):
        text = text.replace(part, "…")
    return text


def summary_of(result: AppriseResult) -> str:
    """``Apprise SUCCESS: JSON json://host/…, Mattermost mmost://host/…``, with each
    service's own status when not all of them took the message."""
    services = [f"{r.name} {redacted(r.url)}" for r in result.results]
    if not result:
        services = [f"{s} {r.status.name}" for s, r in zip(services, result.results, strict=True)]
    return f"Apprise {result.status.name}" + (f": {', '.join(services)}" if services else "")


class AppriseSender:
    def __init__(self, spec: AppriseChannel, *, environ: Mapping[str, str] | None = None) -> None:
        self.spec = spec
        self.environ = environ

    def targets(self, message: Message) -> tuple[list[str], str]:
        """The URLs to send to, and where they came from (for errors)."""
        if is_apprise_url(message.recipient):
            return [message.recipient.strip()], "the recipient"
        if self.spec.urls_env is None:
            raise PermanentFailure(
                f"the recipient is not an Apprise URL and channel {self.spec.key} has no urls_env"
            )
        value = secret(self.spec.urls_env, self.environ)
        assert value is not None  # a name was given
        urls = split_urls(value)
        if not urls:
            raise PermanentFailure(
                f"environment variable {self.spec.urls_env} holds no Apprise URL",
                details={"environment_variable": self.spec.urls_env},
            )
        return urls, f"environment variable {self.spec.urls_env}"

    async def send(self, message: Message) -> str:
        urls, source = self.targets(message)
        return await asyncio.to_thread(self._send, urls, source, message)

    def _send(self, urls: list[str], source: str, message: Message) -> str:
        apobj = Apprise(asset=AppriseAsset(app_id="Tocsin", app_desc="Tocsin incident response"))
        for url in urls:
            if not apobj.add([url]):
                raise PermanentFailure(f"Apprise cannot use the URL {redacted(url)} in {source}")
        for service in apobj:
            service.socket_connect_timeout = self.spec.timeout
            service.socket_read_timeout = self.spec.timeout
        with apobj.notify(
            body=message.text,
            title=message.subject,
            notify_type=NotifyType.INFO,
            body_format=NotifyFormat.TEXT,
        ) as result:
            outcome = summary_of(result)
            if result:
                return outcome
            logged = " | ".join(entry.message for entry in result.logs())
        if len(logged) > MAX_LOG:
            logged = logged[: MAX_LOG - 1] + "…"
        detail = f"{outcome} ({logged})" if logged else outcome
        raise TemporaryFailure(scrubbed(detail, urls))
