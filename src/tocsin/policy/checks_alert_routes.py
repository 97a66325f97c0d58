"""Cross-reference checks of ``alerts: routes:`` and ``alerts: maintenance:``: every
severity, type, component, team and integration a route names exists; no route hides
behind one that takes every alert; maintenance windows end after they start."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tocsin.policy.checks_alerts import Loc, Problem, _unknown
from tocsin.policy.schema import Policy
from tocsin.policy.schema_alert_routes import ALERT_SEVERITIES, Match, ValueMatch


def _values(loc: Loc, match: ValueMatch | None, known: set[str], what: str) -> list[Problem]:
    if match is None:
        return []
    many = len(match.values) > 1
    return [
        ((*loc, j) if many else loc, _unknown(value, known, what))
        for j, value in enumerate(match.values)
        if value not in known
    ]


def _check_match(policy: Policy, loc: Loc, match: Match) -> list[Problem]:
    integrations = {s.key for s in policy.integrations}
    return [
        *_values((*loc, "integration"), match.integration, integrations, "integration"),
        *_values((*loc, "severity"), match.severity, set(ALERT_SEVERITIES), "alert severity"),
    ]


def check_alert_routes(policy: Policy) -> list[Problem]:
    """Every problem of the routes and maintenance windows, with its location."""
    problems: list[Problem] = []
    severities = {s.key for s in policy.severities}
    types = {t.key for t in policy.incident_types}
    components = {c.key for c in policy.components}
    teams = {t.key for t in policy.teams}
    ladders = {ladder.key for ladder in policy.escalation}
    catch_all: int | None = None
    names: dict[str, int] = {}
    for i, route in enumerate(policy.alerts.routes):
        loc: Loc = ("alerts", "routes", i)
        if catch_all is not None:
            problems.append((loc, f"never used: routes[{catch_all}] before it takes every alert"))
        if route.name is not None:
            if route.name in names:
                problems.append(
                    ((*loc, "name"), f"duplicate name {route.name!r} (routes[{names[route.name]}])")
                )
            names.setdefault(route.name, i)
        for k, match in enumerate(route.matches):
            where = (*loc, "match", k) if isinstance(route.match, list) else (*loc, "match")
            problems.extend(_check_match(policy, where, match))
        if catch_all is None and any(m.is_empty() for m in route.matches):
            catch_all = i
        if route.severity is not None and route.severity not in severities:
            problems.append(((*loc, "severity"), _unknown(route.severity, severities, "severity")))
        if route.type is not None and route.type not in types:
            problems.append(((*loc, "type"), _unknown(route.type, types, "incident type")))
        for j, key in enumerate(route.components):
            if key not in components:
                problems.append(((*loc, "components", j), _unknown(key, components, "component")))
        if route.team is not None and route.team not in teams:
            problems.append(((*loc, "team"), _unknown(route.team, teams, "team")))
        if route.escalation is not None and route.escalation not in ladders:
            problems.append(
                ((*loc, "escalation"), _unknown(route.escalation, ladders, "escalation ladder"))
            )
    if policy.alerts.group_window.business_days:
        problems.append(
            (("alerts", "group_window"), "group alerts within a clock time, such as '30m'")
        )
    problems.extend(_check_maintenance(policy))
    return problems


def _check_maintenance(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    zone = ZoneInfo(policy.organization.timezone)
    keys: set[str] = set()
    for i, spec in enumerate(policy.alerts.maintenance):
        loc: Loc = ("alerts", "maintenance", i)
        if spec.key is not None:
            if spec.key in keys:
                problems.append(
                    ((*loc, "key"), f"duplicate key {spec.key!r} in alerts.maintenance")
                )
            keys.add(spec.key)
        starts, ends = spec.span(zone)
        if ends <= starts:
            problems.append(((*loc, "ends"), "a maintenance window must end after it starts"))
    return problems
