"""The policy's webhook options: ``signing_secret_env`` and a generic integration's
``mapping``, and what ``tocsin policy check`` says of them (file, line, path, why)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.alerts.conftest import DEFAULT_POLICY
from typer.testing import CliRunner

from tocsin.cli.main import app
from tocsin.policy.loader import parse_policy
from tocsin.policy.schema_alerts import WebhookMapping

GOOD = """
integrations:
  - key: uptime
    name: Uptime checks
    type: generic
    key_env: UPTIME_KEY
    signing_secret_env: UPTIME_SIGNING_SECRET
    mapping:
      summary: "body.title"
      dedup_key: "body.id"
      resolve_when: "body.state == 'ok'"
      severity: "{'P1': 'critical'}.get(body.priority, 'warning')"
      details: null
  - {key: sentry, name: Sentry, type: sentry, signing_secret_env: SENTRY_CLIENT_SECRET}
  - {key: grafana, name: Grafana, type: grafana, signing_secret_env: GRAFANA_HMAC_SECRET}
"""


def problems(extra: str) -> list[tuple[str, str]]:
    _, found = parse_policy(DEFAULT_POLICY + extra, "p.yaml")
    return [(p.path, p.message) for p in found]


def test_signing_secrets_and_a_mapping() -> None:
    policy, found = parse_policy(DEFAULT_POLICY + GOOD, "p.yaml")
    assert found == [] and policy is not None
    uptime, sentry, _ = policy.integrations
    assert uptime.mapping is not None and uptime.signing_secret_env == "UPTIME_SIGNING_SECRET"
    # Fields not given keep their defaults; null turns one off.
    assert (uptime.mapping.summary, uptime.mapping.source, uptime.mapping.details) == (
        "body.title",
        WebhookMapping().source,
        None,
    )
    assert sentry.mapping is None


def _generic(mapping: str) -> str:
    return (
        f"integrations:\n  - key: hook\n    name: Hook\n    type: generic\n    mapping: {mapping}\n"
    )


@pytest.mark.parametrize(
    ("extra", "where", "says"),
    [
        (
            _generic('{summary: "body.title +"}'),
            "integrations[0].mapping.summary",
            "not a valid expression: unexpected end of expression (in 'body.title +')",
        ),
        (
            _generic('{severity: "payload.level"}'),
            "integrations[0].mapping.severity",
            "unknown name 'payload': an expression reads the JSON body as 'body'",
        ),
        (
            _generic('{source: "body.host | hostname"}'),
            "integrations[0].mapping.source",
            "No filter named 'hostname'",
        ),
        (
            _generic("{resolve_when: \"body.state = 'ok'\"}"),
            "integrations[0].mapping.resolve_when",
            "unexpected '='",
        ),
        (_generic("{title: body.title}"), "integrations[0].mapping.title", "unknown key"),
        (
            "integrations:\n  - {key: am, name: AM, type: alertmanager, signing_secret_env: X}\n",
            "integrations[0].signing_secret_env",
            "alertmanager integrations are not signed (only sentry, grafana, generic are)",
        ),
        (
            "integrations:\n  - {key: pd, name: PD, type: pagerduty, signing_secret_env: X}\n",
            "integrations[0].signing_secret_env",
            "pagerduty integrations are not signed",
        ),
        (
            "integrations:\n  - {key: s, name: S, type: sentry, key_env: K, "
            "signing_secret_env: K}\n",
            "integrations[0].signing_secret_env",
            "the signing secret must not be the integration key",
        ),
        (
            "integrations:\n  - {key: g, name: G, type: grafana, mapping: {summary: body.x}}\n",
            "integrations[0].mapping",
            "only generic integrations have a mapping",
        ),
        (
            "integrations:\n  - {key: g, name: G, type: sentry, signing_secret_env: 'no way'}\n",
            "integrations[0].signing_secret_env",
            "pattern",
        ),
    ],
)
def test_policy_problems(extra: str, where: str, says: str) -> None:
    found = problems(extra)
    assert any(path == where and says in message for path, message in found), found


def test_policy_check_names_the_line_of_a_bad_expression(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    bad = GOOD.replace("body.state == 'ok'", "body.state == 'ok")
    path.write_text(DEFAULT_POLICY + bad, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["policy", "check", str(path), "--json"], env={"TOCSIN_DATABASE_URL": None}
    )
    assert result.exit_code != 0
    [problem] = json.loads(result.stdout)["problems"]
    line = (DEFAULT_POLICY + bad).splitlines().index('      resolve_when: "body.state == \'ok"') + 1
    assert (problem["path"], problem["line"]) == ("integrations[0].mapping.resolve_when", line)
    assert problem["message"].startswith("not a valid expression: unexpected char")
