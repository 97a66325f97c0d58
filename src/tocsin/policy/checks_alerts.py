"""Cross-reference checks of ``integrations:`` and ``alerts:``: keys unique, names known."""

from __future__ import annotations

from tocsin.alerts.adapters import expressions
from tocsin.policy.schema import Policy
from tocsin.policy.schema_alerts import SIGNED_TYPES, IntegrationSpec

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
        problems.extend((("integrations", i, *loc), msg) for loc, msg in _check_webhook(spec))
    default = policy.alerts.default_severity
    if default is not None and default not in severities:
        problems.append((("alerts", "default_severity"), _unknown(default, severities, "severity")))
    return problems


def _check_webhook(spec: IntegrationSpec) -> list[Problem]:
    """An integration's signing secret and generic mapping: allowed for its type, and each
    mapping expression compiles and reads only ``body``."""
    problems: list[Problem] = []
    if spec.signing_secret_env is not None:
        if spec.type not in SIGNED_TYPES:
            problems.append(
                (
                    ("signing_secret_env",),
                    f"{spec.type} integrations are not signed (only "
                    f"{', '.join(SIGNED_TYPES)} are); their key authenticates them",
                )
            )
        elif spec.signing_secret_env == spec.key_env:
            problems.append(
                (("signing_secret_env",), "the signing secret must not be the integration key")
            )
    if spec.mapping is not None and spec.type != "generic":
        problems.append((("mapping",), "only generic integrations have a mapping"))
    elif spec.mapping is not None:
        for field, source in spec.mapping.model_dump().items():
            problem = None if source is None else expressions.problem(source)
            if problem is not None:
                problems.append((("mapping", field), f"{problem} (in {source!r})"))
    return problems
