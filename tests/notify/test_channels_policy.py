"""The ``channels:`` policy section: parsed, checked, and never holding a secret."""

from __future__ import annotations

import pytest

from tocsin.bootstrap import default_policy_text
from tocsin.errors import InvalidInput
from tocsin.notify.service import channel
from tocsin.policy.loader import load_policy_text, parse_policy
from tocsin.policy.schema_notify import EmailChannel, WebhookChannel

CHANNELS = """
channels:
  - key: mail
    type: email
    host: smtp.example.com
    tls: starttls
    username: tocsin
    password_env: TOCSIN_SMTP_PASSWORD
    from: Tocsin <tocsin@example.com>
  - key: ops-hook
    type: webhook
    url: https://hooks.example.com/tocsin
    secret_env: TOCSIN_HOOK_SECRET
"""


def with_channels(text: str) -> str:
    return default_policy_text() + text


def test_channels_parse() -> None:
    policy = load_policy_text(with_channels(CHANNELS))
    mail = channel(policy, "mail")
    hook = channel(policy, "ops-hook")
    assert isinstance(mail, EmailChannel) and isinstance(hook, WebhookChannel)
    assert (mail.effective_port, mail.from_) == (587, "Tocsin <tocsin@example.com>")
    assert hook.secret_env == "TOCSIN_HOOK_SECRET"
    with pytest.raises(InvalidInput, match="unknown channel 'sms'"):
        channel(policy, "sms")


@pytest.mark.parametrize(("tls", "port"), [("none", 25), ("starttls", 587), ("implicit", 465)])
def test_default_ports(tls: str, port: int) -> None:
    spec = EmailChannel.model_validate(
        {"key": "m", "type": "email", "host": "h", "tls": tls, "from": "a@b.c"}
    )
    assert spec.effective_port == port


def problems(text: str) -> list[tuple[str, str]]:
    policy, found = parse_policy(with_channels(text))
    assert policy is None
    return [(p.path, p.message) for p in found]


def test_duplicate_channel_keys() -> None:
    text = CHANNELS.replace("key: ops-hook", "key: MAIL")
    assert problems(text) == [("channels[1].key", "duplicate key 'MAIL' in channels")]


def test_unknown_channel_type_and_settings() -> None:
    found = problems(CHANNELS.replace("type: webhook", "type: pigeon"))
    assert [path for path, _ in found] == ["channels[1]"]
    found = problems(CHANNELS.replace("secret_env:", "secret:"))
    assert any(path.startswith("channels[1]") for path, _ in found)


def test_a_secret_value_is_not_an_environment_variable_name() -> None:
    found = problems(CHANNELS.replace("TOCSIN_SMTP_PASSWORD", "hunter2 with spaces"))
    assert [path for path, _ in found] == ["channels[0].email.password_env"]


def test_a_password_needs_a_username() -> None:
    found = problems(CHANNELS.replace("    username: tocsin\n", ""))
    assert len(found) == 1 and "password_env needs a username" in found[0][1]
