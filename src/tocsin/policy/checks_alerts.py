"""Cross-reference checks of ``integrations:`` and ``alerts:``: keys unique, names known."""

from __future__ import annotations

from tocsin.policy.schema import Policy

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def _unknown(value: str, known: set[str], what: str) -> str:
    choices = ", ".join(sorted(known)) or "none defined"
    return f"unknown {what} {value!r} (known: {choices})"


def check_alerts(policy: Policy) -> list[Problem]:
    """Every problem of the policy's integrations and alert settings, with its location."""
    problems: list[Problem] = []
    teams = {t.key for t in policy.teams}
    severities = {s.key for s in policy.severities}
    seen: set[str] = set()
    envs: dict[str, str] = {}
    for i, spec in enumerate(policy.integrations):
        if spec.key.lower() in seen:
            problems.append(
                (("integrations", i, "key"), f"duplicate key {spec.key!r} in integrations")
            )
        seen.add(spec.key.lower())
        if spec.team is not None and spec.team not in teams:
            problems.append((("integrations", i, "team"), _unknown(spec.team, teams, "team")))
        if spec.key_env is not None:
            other = envs.get(spec.key_env)
            if other is not None:
                problems.append(
                    (
                        ("integrations", i, "key_env"),
                        f"{spec.key_env} is already the key of integration {other!r}; "
                        "each integration needs its own key",
                    )
                )
            envs.setdefault(spec.key_env, spec.key)
    default = policy.alerts.default_severity
    if default is not None and default not in severities:
        problems.append((("alerts", "default_severity"), _unknown(default, severities, "severity")))
    return problems
