"""Pure parts: the policy's ``integrations:`` and ``alerts:`` sections and their checks,
the token bucket, the de-duplication table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.alerts.conftest import ALERTS_POLICY, DEFAULT_POLICY

from tocsin.alerts.dedup import outcome
from tocsin.alerts.ratelimit import RateLimiter, TokenBucket, retry_after_header
from tocsin.policy.loader import parse_policy

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def problems(extra: str) -> list[tuple[str, str]]:
    _, found = parse_policy(DEFAULT_POLICY + extra, "p.yaml")
    return [(p.path, p.message) for p in found]


def test_the_sections_parse() -> None:
    policy, found = parse_policy(
        DEFAULT_POLICY + ALERTS_POLICY + "alerts:\n  default_severity: SEV2\n", "p.yaml"
    )
    assert found == [] and policy is not None
    [spec] = policy.integrations
    assert (spec.key, spec.type, spec.team, spec.service) == (
        "prometheus",
        "pagerduty",
        "payments",
        "checkout",
    )
    assert policy.alerts.default_severity == "SEV2"
    assert policy.alerts.rate_limit is not None and policy.alerts.rate_limit.burst == 10_000


@pytest.mark.parametrize(
    ("extra", "where", "says"),
    [
        (
            "integrations:\n  - {key: a, name: A, type: pagerduty}\n"
            "  - {key: A, name: B, type: pagerduty}\n",
            "integrations[1].key",
            "duplicate key 'A'",
        ),
        (
            "integrations:\n  - {key: a, name: A, type: pagerduty, team: nope}\n",
            "integrations[0].team",
            "unknown team 'nope'",
        ),
        (
            "integrations:\n  - {key: a, name: A, type: nagios}\n",
            "integrations[0].type",
            "pagerduty",
        ),
        (
            "integrations:\n  - {key: a, name: A, type: pagerduty, routing_key: abc}\n",
            "integrations[0].routing_key",
            "",
        ),
        (
            "integrations:\n  - {key: a, name: A, type: pagerduty, key_env: K}\n"
            "  - {key: b, name: B, type: pagerduty, key_env: K}\n",
            "integrations[1].key_env",
            "each integration needs its own key",
        ),
        (
            "integrations:\n  - {key: a, name: A, type: pagerduty, key_env: 'not a name'}\n",
            "integrations[0].key_env",
            "",
        ),
        ("alerts:\n  default_severity: SEV9\n", "alerts.default_severity", "unknown severity"),
        ("alerts:\n  rate_limit: {per_second: 0}\n", "alerts.rate_limit.per_second", ""),
        ("alerts:\n  default_sevrity: SEV1\n", "alerts.default_sevrity", ""),
    ],
)
def test_policy_problems(extra: str, where: str, says: str) -> None:
    found = problems(extra)
    assert any(path == where and says in message for path, message in found), found


def test_a_token_bucket_gives_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(T0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(T0) == pytest.approx(0.5)
    assert bucket.take(T0 + timedelta(seconds=0.5)) == 0.0
    assert bucket.take(T0 + timedelta(seconds=0.5)) > 0
    # It never holds more than the burst, however long it rests.
    later = T0 + timedelta(hours=1)
    assert [bucket.take(later) for _ in range(4)][-1] > 0
    # A clock going backwards does not mint tokens.
    assert bucket.take(T0) > 0


def test_the_limiter_keeps_one_bucket_per_integration() -> None:
    limiter = RateLimiter()
    assert limiter.take(1, 1.0, 1, T0) == 0.0
    assert limiter.take(1, 1.0, 1, T0) > 0
    assert limiter.take(2, 1.0, 1, T0) == 0.0
    # A new rate or burst starts the bucket afresh.
    assert limiter.take(1, 1.0, 5, T0) == 0.0
    assert retry_after_header(0.2) == "1" and retry_after_header(2.01) == "3"


def test_the_de_duplication_table() -> None:
    table = {
        (action, status): outcome(action, status)  # type: ignore[arg-type]
        for action in ("trigger", "acknowledge", "resolve")
        for status in (None, "triggered", "acknowledged")
    }
    assert table == {
        ("trigger", None): "opened",
        ("trigger", "triggered"): "updated",
        ("trigger", "acknowledged"): "updated",
        ("acknowledge", None): "dropped",
        ("acknowledge", "triggered"): "acknowledged",
        ("acknowledge", "acknowledged"): "unchanged",
        ("resolve", None): "dropped",
        ("resolve", "triggered"): "resolved",
        ("resolve", "acknowledged"): "resolved",
    }
    with pytest.raises(ValueError):
        outcome("trigger", "resolved")
