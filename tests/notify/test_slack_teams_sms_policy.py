"""Slack, Teams and SMS channels in the policy: parsed, checked, never holding a secret."""

from __future__ import annotations

from tests.notify.test_channels_policy import problems, with_channels

from tocsin.notify.service import channel
from tocsin.policy.loader import load_policy_text
from tocsin.policy.schema_notify import SlackChannel, SmsChannel, TeamsChannel

CHANNELS = """
channels:
  - key: slack-incidents
    type: slack
    token_env: TOCSIN_SLACK_TOKEN
    channel: "#incidents"
  - key: teams-ops
    type: teams
    url_env: TOCSIN_TEAMS_URL
  - key: sms
    type: sms
    account_sid: AC0123456789abcdef
    auth_token_env: TOCSIN_TWILIO_TOKEN
    from: "+15550001111"
"""


def test_slack_teams_and_sms_parse_with_defaults() -> None:
    policy = load_policy_text(with_channels(CHANNELS))
    slack, teams, sms = (channel(policy, k) for k in ("slack-incidents", "teams-ops", "sms"))
    assert isinstance(slack, SlackChannel)
    assert (slack.channel, slack.base_url, slack.token_env) == (
        "#incidents",
        "https://slack.com/api/",
        "TOCSIN_SLACK_TOKEN",
    )
    assert isinstance(teams, TeamsChannel) and teams.url_env == "TOCSIN_TEAMS_URL"
    assert isinstance(sms, SmsChannel)
    assert (sms.base_url, sms.from_) == ("https://api.twilio.com", "+15550001111")


def test_secrets_must_be_environment_variable_names() -> None:
    found = problems(CHANNELS.replace("TOCSIN_SLACK_TOKEN", "xoxb-1234-abcd"))
    assert [path for path, _ in found] == ["channels[0].slack.token_env"]
    found = problems(CHANNELS.replace("url_env: TOCSIN_TEAMS_URL", "url_env: https://x.test/h"))
    assert [path for path, _ in found] == ["channels[1].teams.url_env"]


def test_a_teams_url_in_the_policy_is_refused() -> None:
    found = problems(CHANNELS.replace("url_env:", "url:"))
    assert any(path.startswith("channels[1]") for path, _ in found)


def test_required_settings() -> None:
    found = problems(CHANNELS.replace("    auth_token_env: TOCSIN_TWILIO_TOKEN\n", ""))
    assert [path for path, _ in found] == ["channels[2].sms.auth_token_env"]
    found = problems(CHANNELS.replace('    channel: "#incidents"\n', ""))
    assert [path for path, _ in found] == ["channels[0].slack.channel"]
