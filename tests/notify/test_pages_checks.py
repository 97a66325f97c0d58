"""``tocsin policy check`` on personal notification rules (``people: notify:``)."""

from __future__ import annotations

import pytest

from tocsin.errors import PolicyInvalid
from tocsin.policy.loader import load_policy_text

BASE = """
tocsin: 1
organization: {name: Rules, timezone: UTC}
severities: [{key: P1, name: High}]
channels:
  - {key: mail, type: email, host: smtp.example.com, from: tocsin@example.com}
  - {key: texts, type: sms, account_sid: AC1, auth_token_env: TWILIO_TOKEN, from: "+15550001111"}
people:
  - key: dana
    email: dana@example.com
    name: Dana
    contacts:
      - {type: phone, value: "+31600000009", label: Mobile}
      - {type: slack, value: U024BE7LH}
    notify: RULES
"""


def problems(rules: str) -> list[tuple[str, str]]:
    """(location, message) of each problem the rules have; [] when the policy loads."""
    try:
        load_policy_text(BASE.replace("RULES", rules))
    except PolicyInvalid as exc:
        return [(p["path"], p["message"]) for p in exc.details]
    return []


def test_rules_naming_what_the_person_has_pass() -> None:
    rules = (
        "[{via: email}, {via: sms}, {via: Mobile, after: 2m}, {via: voice, after: 5m},"
        " {via: slack}, {via: sms, channel: texts}, {via: email, channel: mail}]"
    )
    assert problems(rules) == []


@pytest.mark.parametrize(
    ("rules", "location", "words"),
    [
        ("[{via: pager}]", "people[0].notify[0].via", "no contact of type or label 'pager'"),
        ("[{via: webhook}]", "people[0].notify[0].via", "(they have: email, phone, slack, sms"),
        ("[{via: sms, channel: nope}]", "people[0].notify[0].channel", "unknown channel 'nope'"),
        ("[{via: sms, channel: mail}]", "people[0].notify[0].channel", "'mail' is email"),
        ("[{via: email, channel: texts}]", "people[0].notify[0].channel", "cannot reach"),
        ("[{via: sms, after: 1bd}]", "people[0].notify[0].after", "not business days"),
    ],
)
def test_rules_that_cannot_work_are_refused_where_they_are(
    rules: str, location: str, words: str
) -> None:
    found = problems(rules)
    assert any(loc.startswith(location) and words in msg for loc, msg in found), found
