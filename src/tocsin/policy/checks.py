"""Cross-reference checks of a parsed policy: every name used is defined, once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.policy import checks_routes
from tocsin.policy.checks_alert_routes import check_alert_routes
from tocsin.policy.checks_alerts import check_alerts
from tocsin.policy.checks_notify_rules import check_notify_rules
from tocsin.policy.checks_postmortems import check_postmortems
from tocsin.policy.checks_statuspage import check_status_page
from tocsin.policy.checks_templates import check_templates
from tocsin.policy.permissions import BUILTIN_PERMISSIONS
from tocsin.policy.schema import Policy

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def _duplicates(items: Sequence[object], attr: str, section: str) -> Iterable[Problem]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = str(getattr(item, attr)).lower()
        if key in seen:
            yield (section, i, attr), f"duplicate {attr} {getattr(item, attr)!r} in {section}"
        seen.add(key)


def _unknown(value: str, known: set[str], what: str) -> str:
    choices = ", ".join(sorted(known)) or "none defined"
    return f"unknown {what} {value!r} (known: {choices})"


def check_references(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    for section, attr in (
        ("severities", "key"),
        ("incident_types", "key"),
        ("permissions", "key"),
        ("roles", "key"),
        ("phases", "key"),
        ("checklists", "key"),
        ("teams", "key"),
        ("people", "email"),
        ("vendors", "key"),
        ("components", "key"),
        ("root_causes", "key"),
        ("schedules", "key"),
        ("escalation", "key"),
        ("channels", "key"),
    ):
        problems.extend(_duplicates(getattr(policy, section), attr, section))

    severities = {s.key for s in policy.severities}
    types = {t.key for t in policy.incident_types}
    roles = {r.key for r in policy.roles}
    teams = {t.key for t in policy.teams}
    phases = {p.key for p in policy.phases}
    permissions = set(BUILTIN_PERMISSIONS) | {p.key for p in policy.permissions}

    for i, perm in enumerate(policy.permissions):
        if perm.key in BUILTIN_PERMISSIONS:
            problems.append(
                (("permissions", i, "key"), f"{perm.key!r} is built in; do not declare it again")
            )
    for i, perm_key in enumerate(policy.everyone):
        if perm_key not in permissions:
            problems.append((("everyone", i), _unknown(perm_key, permissions, "permission")))
    for i, role in enumerate(policy.roles):
        for j, perm_key in enumerate(role.permissions):
            if perm_key not in permissions:
                loc: Loc = ("roles", i, "permissions", j)
                problems.append((loc, _unknown(perm_key, permissions, "permission")))
    for i, sev in enumerate(policy.severities):
        for j, req in enumerate(sev.required_roles):
            if req.role not in roles:
                loc = ("severities", i, "required_roles", j, "role")
                problems.append((loc, _unknown(req.role, roles, "role")))
        for stage in ("acknowledge", "identify", "mitigate", "resolve"):
            target = getattr(sev.sla, stage)
            if target is not None and _ORDER.index(target.from_) >= _ORDER.index(
                _STAGE_REACHED[stage]
            ):
                loc = ("severities", i, "sla", stage, "from")
                earlier = ", ".join(_ORDER[: _ORDER.index(_STAGE_REACHED[stage])])
                problems.append(
                    (loc, f"the {stage} target must count from an earlier stage ({earlier})")
                )
    for i, itype in enumerate(policy.incident_types):
        if itype.typical_severity is not None and itype.typical_severity not in severities:
            loc = ("incident_types", i, "typical_severity")
            problems.append((loc, _unknown(itype.typical_severity, severities, "severity")))
    for i, checklist in enumerate(policy.checklists):
        if phases and checklist.phase not in phases:
            loc = ("checklists", i, "phase")
            problems.append((loc, _unknown(checklist.phase, phases, "phase")))
        for j, sev_key in enumerate(checklist.severities):
            if sev_key not in severities:
                loc = ("checklists", i, "severities", j)
                problems.append((loc, _unknown(sev_key, severities, "severity")))
        for j, type_key in enumerate(checklist.types):
            if type_key not in types:
                loc = ("checklists", i, "types", j)
                problems.append((loc, _unknown(type_key, types, "incident type")))
    for i, person in enumerate(policy.people):
        for j, role_key in enumerate(person.roles):
            if role_key not in roles:
                problems.append((("people", i, "roles", j), _unknown(role_key, roles, "role")))
        for j, team_key in enumerate(person.teams):
            if team_key not in teams:
                problems.append((("people", i, "teams", j), _unknown(team_key, teams, "team")))
        if person.timezone is not None:
            try:
                ZoneInfo(person.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                loc = ("people", i, "timezone")
                problems.append((loc, f"unknown IANA time zone {person.timezone!r}"))
    problems.extend(_check_people_handles(policy))
    problems.extend(_check_schedules(policy))
    problems.extend(_check_escalation(policy, severities, types, roles))
    problems.extend(check_notify_rules(policy))
    problems.extend(checks_routes.check_routes(policy))
    problems.extend(check_templates(policy))
    problems.extend(check_alerts(policy))
    problems.extend(check_alert_routes(policy))
    problems.extend(check_status_page(policy))
    problems.extend(check_postmortems(policy))
    return problems


def _check_people_handles(policy: Policy) -> Iterable[Problem]:
    seen: set[str] = set()
    for i, person in enumerate(policy.people):
        handle = person.handle.lower()
        if handle in seen:
            yield (
                ("people", i, "key"),
                f"two people have the handle {handle!r}; give one of them a 'key'",
            )
        seen.add(handle)


def _check_schedules(policy: Policy) -> Iterable[Problem]:
    handles = sorted(p.handle for p in policy.people)
    for i, schedule in enumerate(policy.schedules):
        if schedule.timezone is not None:
            try:
                ZoneInfo(schedule.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                yield (
                    ("schedules", i, "timezone"),
                    f"unknown IANA time zone {schedule.timezone!r}",
                )
        for j, layer in enumerate(schedule.layers):
            for k, ref in enumerate(layer.participants):
                if policy.person(ref) is None:
                    yield (
                        ("schedules", i, "layers", j, "participants", k),
                        _unknown(ref, set(handles), "person"),
                    )


def check_target(policy: Policy, ref: str) -> str | None:
    """What is wrong with a target such as ``schedule:primary``, or None."""
    kind, _, key = ref.partition(":")
    known: dict[str, set[str]] = {
        "role": {r.key for r in policy.roles},
        "user": {p.handle for p in policy.people},
        "schedule": {s.key for s in policy.schedules},
        "team": {t.key for t in policy.teams},
    }
    if kind == "user" and policy.person(key) is not None:
        return None
    if kind in known and key not in known[kind]:
        return _unknown(key, known[kind], kind)
    return None


def _check_escalation(
    policy: Policy, severities: set[str], types: set[str], roles: set[str]
) -> Iterable[Problem]:
    def targets(loc: Loc, refs: Sequence[str]) -> Iterable[Problem]:
        for j, ref in enumerate(refs):
            problem = check_target(policy, ref)
            if problem:
                yield (*loc, j), problem

    for i, ladder in enumerate(policy.escalation):
        for j, sev_key in enumerate(ladder.severities):
            if sev_key not in severities:
                yield ("escalation", i, "severities", j), _unknown(sev_key, severities, "severity")
        for j, type_key in enumerate(ladder.types):
            if type_key not in types:
                yield ("escalation", i, "types", j), _unknown(type_key, types, "incident type")
        for j, step in enumerate(ladder.steps):
            loc: Loc = ("escalation", i, "steps", j)
            yield from targets((*loc, step.action), step.page or step.notify or [])
            if step.assign is not None:
                if step.assign.role not in roles:
                    yield (*loc, "assign", "role"), _unknown(step.assign.role, roles, "role")
                problem = check_target(policy, step.assign.to)
                if problem:
                    yield (*loc, "assign", "to"), problem
            if step.require and step.require.role and step.require.role not in roles:
                yield (*loc, "require", "role"), _unknown(step.require.role, roles, "role")
    for i, sev in enumerate(policy.severities):
        for j, req in enumerate(sev.required_roles):
            loc = ("severities", i, "required_roles", j)
            yield from targets((*loc, "remind"), req.remind)
            yield from targets((*loc, "escalate_to"), req.escalate_to)
    yield from targets(("reminders", "updates_to"), policy.reminders.updates_to)


_ORDER = ("detected", "declared", "acknowledged", "identified", "mitigated", "resolved")
_STAGE_REACHED = {
    "acknowledge": "acknowledged",
    "identify": "identified",
    "mitigate": "mitigated",
    "resolve": "resolved",
}
