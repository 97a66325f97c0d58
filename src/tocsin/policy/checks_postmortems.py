"""Cross-reference checks of the post-incident parts of a policy: templates, deadlines."""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.policy.schema import Policy

Problem = tuple[tuple[str | int, ...], str]


def _unknown(value: str, known: Iterable[str], what: str) -> str:
    return f"unknown {what} {value!r} (known: {', '.join(sorted(known)) or 'none defined'})"


def check_postmortems(policy: Policy) -> Iterable[Problem]:
    from tocsin.policy.checks import check_target  # checks imports this module

    settings = policy.postmortems
    templates = {t.key for t in settings.templates}
    checklists = {c.key for c in policy.checklists}
    seen: set[str] = set()
    roles = {r.key for r in policy.roles}
    for i, template in enumerate(settings.templates):
        if template.key in seen:
            yield ("postmortems", "templates", i, "key"), f"duplicate key {template.key!r}"
        seen.add(template.key)
        for j, header in enumerate(template.fields):
            role = header.source.removeprefix("role:")
            if header.source.startswith("role:") and role not in roles:
                where = ("postmortems", "templates", i, "fields", j, "source")
                yield where, _unknown(role, roles, "role")
    if settings.default_template is not None and settings.default_template not in templates:
        unknown = _unknown(settings.default_template, templates, "template")
        yield ("postmortems", "default_template"), unknown
    for j, ref in enumerate(settings.action_items.escalate_to):
        wrong = check_target(policy, ref)
        if wrong:
            yield ("postmortems", "action_items", "escalate_to", j), wrong
    for i, severity in enumerate(policy.severities):
        rule = severity.postmortem
        base: tuple[str | int, ...] = ("severities", i, "postmortem")
        if rule.template is not None and rule.template not in templates:
            yield (*base, "template"), _unknown(rule.template, templates, "template")
        keys: set[str] = set()
        for j, deadline in enumerate(rule.deadlines):
            loc = (*base, "deadlines", j)
            if deadline.key in keys or deadline.key == "postmortem":
                yield (*loc, "key"), f"deadline key {deadline.key!r} is taken"
            keys.add(deadline.key)
            kind, _, key = deadline.done_when.partition(":")
            if kind == "checklist" and key not in checklists:
                yield (*loc, "done_when"), _unknown(key, checklists, "checklist")
            for field in ("remind", "escalate_to"):
                for k, ref in enumerate(getattr(deadline, field)):
                    problem = check_target(policy, ref)
                    if problem:
                        yield (*loc, field, k), problem
