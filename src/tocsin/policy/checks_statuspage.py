"""Cross-reference checks of ``status_page:``: the e-mail channel it names exists and is
an e-mail channel."""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.policy.schema import Policy

Problem = tuple[tuple[str | int, ...], str]


def check_status_page(policy: Policy) -> Iterable[Problem]:
    key = policy.status_page.email_channel
    if key is None:
        return
    channel = next((c for c in policy.channels if c.key == key), None)
    emails = sorted(c.key for c in policy.channels if c.type == "email")
    known = f"(e-mail channels: {', '.join(emails) or 'none defined'})"
    if channel is None:
        yield ("status_page", "email_channel"), f"unknown channel {key!r} {known}"
    elif channel.type != "email":
        message = f"channel {key!r} is a {channel.type} channel, not e-mail {known}"
        yield ("status_page", "email_channel"), message
