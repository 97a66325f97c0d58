"""``tocsin policy check`` on ``comms: routes:``: every name a route uses must exist, and
each problem names its place in the file."""

from __future__ import annotations

import pytest

from tocsin.policy.loader import parse_policy

BASE = """
tocsin: 1
organization: {name: Acme, locale: nl}
severities:
  - {key: SEV1, name: Critical}
  - {key: SEV2, name: Major}
incident_types:
  - {key: outage, name: Outage}
roles:
  - {key: comms, name: Communications}
people:
  - {key: dana, email: dana@example.com, name: Dana, roles: [comms]}
teams:
  - {key: executive, name: Executives}
schedules:
  - key: on-call
    name: On call
    layers: [{participants: [dana]}]
channels:
  - {key: chat, type: slack, token_env: SLACK_BOT_TOKEN, channel: "#incidents"}
  - {key: mail, type: email, host: smtp.example.com, from: tocsin@example.com}
  - {key: sms, type: sms, account_sid: AC1, auth_token_env: TWILIO_AUTH_TOKEN, from: "+1555"}
templates:
  - {key: eigen, text: "Eigen bericht over {{ incident.title }}"}
comms:
  routes:
"""


def problems(routes: str) -> list[tuple[str, str]]:
    policy, found = parse_policy(BASE + routes, "policy.yaml")
    assert (policy is None) == bool(found)
    return [(p.path, p.message) for p in found]


def test_good_routes_pass() -> None:
    assert (
        problems(
            """
    - {key: declared, on: declared, template: incident-declared, channels: [chat]}
    - {key: own, on: update, template: eigen, channels: [chat], severities: [SEV1]}
    - {key: sms, on: declared, template: incident-declared, channels: [sms, chat],
       to: [schedule:on-call, team:executive, role:comms, user:dana, "+31600000000"]}
    - {key: mail-1h, after: 1h, until: mitigated, template: customer-email,
       channels: [mail], to: [klanten@example.com], types: [outage], locale: en}
    - {key: after-resolution, after: 4h, from: resolved, template: status-resolved,
       channels: [chat]}
"""
        )
        == []
    )


def test_unknown_channel_template_severity_and_type() -> None:
    found = problems(
        """
    - {key: r, on: declared, template: nope, channels: [chat, pager],
       severities: [SEV1, SEV9], types: [outage, flood]}
"""
    )
    assert ("comms.routes[0].channels[1]", "unknown channel 'pager' (known: chat, mail, sms)") in (
        found
    )
    assert ("comms.routes[0].severities[1]", "unknown severity 'SEV9' (known: SEV1, SEV2)") in (
        found
    )
    assert ("comms.routes[0].types[1]", "unknown incident type 'flood' (known: outage)") in found
    [(_, message)] = [p for p in found if p[0] == "comms.routes[0].template"]
    assert message.startswith("no template 'nope' (known: ")
    assert len(found) == 4


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("schedule:nightly", "unknown schedule 'nightly' (known: on-call)"),
        ("team:board", "unknown team 'board' (known: executive)"),
        ("role:ceo", "unknown role 'ceo' (known: comms)"),
        ("user:nobody", "unknown user 'nobody' (known: dana)"),
    ],
)
def test_unknown_targets_in_to(target: str, message: str) -> None:
    found = problems(
        f"""
    - {{key: r, on: declared, template: incident-declared, channels: [mail],
       to: [user:dana, "{target}"]}}
"""
    )
    assert found == [("comms.routes[0].to[1]", message)]


def test_people_channels_need_to_and_to_is_not_for_channels() -> None:
    found = problems(
        """
    - {key: r, on: declared, template: incident-declared, channels: [chat, mail, sms]}
    - {key: s, on: declared, template: incident-declared, channels: [mail],
       to: ["channel:chat"]}
"""
    )
    assert found == [
        (
            "comms.routes[0].to",
            "channel mail (email), sms (sms) sends to people: the route needs 'to'",
        ),
        (
            "comms.routes[1].to[0]",
            "'channel:chat': a route sends to channels through 'channels', not 'to' "
            "(which names people or addresses)",
        ),
    ]


def test_stages_of_timed_routes_and_event_routes() -> None:
    found = problems(
        """
    - {key: backwards, after: 1h, from: identified, until: acknowledged,
       template: incident-update, channels: [chat]}
    - {key: empty, after: 1h, from: mitigated, until: mitigated,
       template: incident-update, channels: [chat]}
    - {key: event, on: declared, until: mitigated, template: incident-update, channels: [chat]}
    - {key: event, on: update, template: incident-update, channels: [chat]}
"""
    )
    assert found == [
        (
            "comms.routes[0].until",
            "'until: acknowledged' must be a later stage than 'from: identified'",
        ),
        (
            "comms.routes[1].until",
            "'until: mitigated' must be a later stage than 'from: mitigated'",
        ),
        ("comms.routes[2].on", "'from' and 'until' belong to timed routes ('after'), not 'on'"),
        ("comms.routes[3].key", "duplicate key 'event' in comms routes"),
    ]


def test_a_route_needs_on_or_after() -> None:
    found = problems(
        """
    - {key: both, on: declared, after: 5m, template: incident-update, channels: [chat]}
    - {key: neither, template: incident-update, channels: [chat]}
"""
    )
    assert [path for path, _ in found] == ["comms.routes[0]", "comms.routes[1]"]
    assert all("exactly one of 'on' (an event) or 'after' (a time)" in m for _, m in found)


def test_problems_point_at_their_line() -> None:
    text = BASE + "    - {key: r, on: declared, template: incident-declared, channels: [pager]}\n"
    _, found = parse_policy(text, "policy.yaml")
    [problem] = found
    assert problem.line == text.count("\n")
