"""The fields a message template may name: one declaration, used by the policy check, the
docs and the tests.

:func:`tocsin.comms.context.incident_context` builds exactly :data:`ROOTS` (a test holds
the two together); :data:`OPTIONAL_ROOTS` are added by whoever sends a message that has
them (a page carries ``page``, a reminder ``notice``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Field:
    """A value (``example`` shows one), a record of named ``fields``, or a mapping keyed
    by the policy's keys of one kind (``keyed_by="role"``: ``incident.roles["ic"]``)."""

    doc: str
    example: Any = None
    fields: Mapping[str, Field] = field(default_factory=dict)
    keyed_by: str | None = None

    @property
    def is_record(self) -> bool:
        return bool(self.fields)


def _leaf(doc: str, example: Any) -> Field:
    return Field(doc, example)


#: What a sender may fill in for one message (``--set progress=...``); all optional.
UPDATE_FIELDS: Mapping[str, Field] = {
    "status": _leaf(
        "The status in the sender's words (default: use incident.status)", "Fix deployed"
    ),
    "progress": _leaf("What has been done since the last update", "Rolled back to 4.1.9."),
    "next_steps": _leaf("What happens next", "Watch the error rate for 30 minutes."),
    "next_update": _leaf("When the next update comes", "14:30 UTC"),
    "eta": _leaf("Expected time to resolution", "within the hour"),
    "details": _leaf("Technical details", "Connection pool exhausted on db-2."),
    "root_cause": _leaf("The (suspected) cause", "A configuration change"),
    "resolution": _leaf("What fixed it", "Rolled back the release"),
    "summary": _leaf("A short summary for this audience", "Scores did not save for 45 minutes."),
    "customer_impact": _leaf("What customers noticed", "Scores were not saved."),
    "data_impact": _leaf("Whether data was lost, and what", "No data was lost."),
    "failed_requests": _leaf("How many requests failed", "about 1,200"),
    "actions_taken": _leaf("What has been done", "Rolled back; restarted the workers."),
    "preventive_measures": _leaf("How recurrence is prevented", "Load tests before release."),
    "postmortem_date": _leaf("When the post-mortem is", "2026-01-19 10:00"),
    "workaround": _leaf("A workaround for users", "Replay the game after 15:00."),
    "action": _leaf("The proposed action (mitigation-proposed)", "Roll back to v1.2.3"),
    "risk": _leaf("The risk of the proposed action: Low, Medium or High", "Low"),
    "expected_impact": _leaf("What the proposed action should achieve", "Restore score saving"),
    "rollback_plan": _leaf("What happens if the action fails", "Redeploy 1.2.4"),
    "approval": _leaf("Who must approve, or who approved", "Awaiting the incident commander"),
    "vendor": _leaf("The third party concerned", "Neon"),
    "errors": _leaf("Relevant error messages", "FATAL: too many connections"),
    "contact": _leaf("Who to contact, and how", "Dana Lead, +31 20 123 4567"),
    "account_id": _leaf("Your account ID with the vendor", "acct-42"),
    "reference": _leaf("A ticket or case number", "CASE-1234"),
    "links": _leaf(
        "Relevant links (dashboards, error tracker, status page)", "https://status.example.com"
    ),
    "recipient_name": _leaf("Whom the message addresses", "Alex"),
}

_INCIDENT: Mapping[str, Field] = {
    "ref": _leaf("The incident's id", "INC-2026-01-15-001"),
    "title": _leaf("Its title", "Scores are not saving"),
    "summary": _leaf("Its longer description", "Students finish games but scores vanish."),
    "severity": _leaf("Severity key", "SEV1"),
    "severity_name": _leaf("Severity name", "Critical"),
    "severity_definition": _leaf("The severity's definition in the policy", "Complete outage"),
    "type": _leaf("Incident type key", "outage"),
    "type_name": _leaf("Incident type name", "Outage"),
    "status": _leaf("investigating, identified, monitoring, resolved or closed", "investigating"),
    "impact": _leaf("Business impact, in words", "Students cannot save scores"),
    "users_affected": _leaf("How many users are affected", 1200),
    "users_affected_pct": _leaf("Share of users affected, in percent", 40.5),
    "components": _leaf("Affected components, by name, comma-separated", "Score Recording"),
    "detected_at": _leaf("When it was detected (organisation's zone)", "2026-01-15 10:58 CET"),
    "declared_at": _leaf("When it was declared", "2026-01-15 11:00 CET"),
    "acknowledged_at": _leaf("When it was acknowledged", "2026-01-15 11:03 CET"),
    "identified_at": _leaf("When the cause was identified", "2026-01-15 11:20 CET"),
    "mitigated_at": _leaf("When it was mitigated", "2026-01-15 11:40 CET"),
    "resolved_at": _leaf("When it was resolved", "2026-01-15 12:10 CET"),
    "duration": _leaf("From detection to resolution (or now)", "1 h 12 min"),
    "duration_minutes": _leaf("The same in whole minutes", 72),
    "update_every": _leaf("The severity's update cadence", "30 min"),
    "next_update_at": _leaf("Now plus the update cadence", "2026-01-15 12:30 CET"),
    "declared_by": _leaf("Who declared it", "Dana Lead"),
    "acknowledged_by": _leaf("Who acknowledged it", "Sam Oncall"),
    "commander": _leaf("Who holds the policy's first exclusive role", "Dana Lead"),
    "roles": Field(
        "Who holds each role of the policy: incident.roles['incident-commander']",
        "Dana Lead",
        keyed_by="role",
    ),
    "url": _leaf("The incident's page in Tocsin", "https://tocsin.example.com/incidents/INC-…"),
}

#: The roots :func:`~tocsin.comms.context.incident_context` always builds.
ROOTS: Mapping[str, Field] = {
    "org": Field(
        "The organisation",
        fields={
            "name": _leaf("Its name", "Example Shop"),
            "timezone": _leaf("Its time zone", "Europe/Amsterdam"),
        },
    ),
    "now": _leaf("The time of sending (organisation's zone)", "2026-01-15 12:00 CET"),
    "incident": Field("The incident as it is now", fields=_INCIDENT),
    "update": Field("What the sender fills in for this one message", fields=UPDATE_FIELDS),
}

#: Roots present only in some messages (a template naming them is sent with them).
OPTIONAL_ROOTS: Mapping[str, Field] = {
    "page": Field(
        "A page to one person",
        fields={
            "reason": _leaf("Why this person is paged", "You are on call for primary."),
            "ack_url": _leaf("The one-click acknowledge link", "https://tocsin.example.com/ack/…"),
            "ack_code": _leaf("The SMS reply code", "4821"),
            "channel": _leaf(
                "The kind of channel this copy goes through (sms, voice, email, slack, ...)",
                "sms",
            ),
        },
    ),
    "notice": Field(
        "A reminder or notice to one person",
        fields={"reason": _leaf("What the person is reminded of", "Post a status update.")},
    ),
}

FIELDS: Mapping[str, Field] = {**ROOTS, **OPTIONAL_ROOTS}

#: Jinja2's own globals, and the names it binds inside loops and macros.
JINJA_NAMES = frozenset(
    {
        "range",
        "dict",
        "lipsum",
        "cycler",
        "joiner",
        "namespace",
        "loop",
        "caller",
        "varargs",
        "kwargs",
    }
)
#: Methods of a record that templates may call (``incident.roles.items()``).
MAPPING_METHODS = frozenset({"items", "keys", "values", "get"})


def _names(fields: Iterable[str]) -> str:
    return ", ".join(sorted(fields))


def unknown(
    path: Sequence[str | int], *, keys: Mapping[str, Collection[str]], where: str = ""
) -> str | None:
    """What is wrong with ``path`` (``["incident", "titel"]``), or ``None`` if Tocsin
    provides it; ``where`` (`` in template 'x'``) goes after the field's name. ``keys``
    lists the policy's keys for keyed mappings (``{"role": [...]}``); a kind not listed is
    not checked. Past a value (``incident.title.upper``) nothing is checked: that is the
    value's own method."""
    spec: Field | None = None
    scope: Mapping[str, Field] = FIELDS
    for depth, part in enumerate(path):
        name = ".".join(str(p) for p in path[: depth + 1])
        parent = ".".join(str(p) for p in path[:depth])
        if spec is not None and (not spec.is_record or part in MAPPING_METHODS):
            if spec.keyed_by is None or part in MAPPING_METHODS:
                return None
            known = keys.get(spec.keyed_by)
            if known is None or str(part) in known:
                return None
            return (
                f"unknown {spec.keyed_by} {str(part)!r} in {parent}{where} "
                f"(known: {_names(known) or 'none defined'})"
            )
        if part not in scope:
            kind = f"{parent} fields" if parent else "fields"
            return f"unknown field {name!r}{where} (known {kind}: {_names(scope)})"
        spec = scope[str(part)]
        scope = spec.fields
    return None


def _value(spec: Field, keys: Mapping[str, Collection[str]], empty: bool) -> Any:
    if spec.is_record:
        return {name: _value(child, keys, empty) for name, child in spec.fields.items()}
    if spec.keyed_by is not None:
        return dict.fromkeys(keys.get(spec.keyed_by, ()), None if empty else spec.example)
    return None if empty else spec.example


def sample(
    keys: Mapping[str, Collection[str]] | None = None, *, empty: bool = False
) -> dict[str, Any]:
    """A context with every field (optional roots too) set to its example, or with
    ``empty`` every value ``None``: what the check renders each template with."""
    return {name: _value(spec, keys or {}, empty) for name, spec in FIELDS.items()}


def flatten(fields: Mapping[str, Field] = FIELDS, prefix: str = "") -> list[tuple[str, Field]]:
    """``[("org.name", Field), ...]``, every value's dotted name, for docs and help."""
    out: list[tuple[str, Field]] = []
    for name, spec in fields.items():
        path = f"{prefix}{name}"
        if spec.is_record:
            out += flatten(spec.fields, f"{path}.")
        else:
            out.append((path, spec))
    return out
