"""A new postmortem, pre-filled from its incident by the template. Pure: no I/O.

The service gathers the incident's facts (:class:`Facts`); :func:`build` turns a template
and the facts into the document's title, header fields and sections. Everything becomes
editable text except the live fields (status, reviewers, root cause category) and the
action items, which are rendered from their rows at export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.policy.schema_postmortems import (
    LIVE_FIELDS,
    FieldSource,
    PostmortemTemplate,
    SectionSpec,
)
from tocsin.policy.spans import format_timedelta


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    summary: str


@dataclass(frozen=True)
class Facts:
    ref: str
    title: str
    summary: str
    severity: str
    severity_name: str
    type: str | None
    author: str
    status: str
    detected_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    users_affected: int | None
    users_affected_pct: float | None
    business_impact: str
    components: Sequence[str]
    #: Role key → handles of everyone who held it.
    roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class Draft:
    title: str
    fields: list[dict[str, Any]]
    sections: list[dict[str, Any]]


def clean(text: str) -> str:
    """A section body as stored: no blank lines around it, no trailing spaces, ``\\n``
    line ends (what the Markdown reader gives back, so export → import is exact)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def one_line(text: str) -> str:
    return " ".join(text.split())


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _duration(facts: Facts, zone: ZoneInfo) -> str:
    start = facts.detected_at.astimezone(zone)
    if facts.resolved_at is None:
        return f"{start:%H:%M} - (open)"
    end = facts.resolved_at.astimezone(zone)
    ends = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%H:%M} - {ends} {end:%Z} ({format_timedelta(end - start)})"


def users(facts: Facts) -> str:
    if facts.users_affected is None and facts.users_affected_pct is None:
        return ""
    count = "" if facts.users_affected is None else f"{facts.users_affected:,}"
    pct = "" if facts.users_affected_pct is None else f"{facts.users_affected_pct:g}%"
    return f"{count} ({pct})" if count and pct else count or pct


def field_value(source: str, facts: Facts, zone: ZoneInfo) -> str:
    """The pre-filled value of a header field that is not live."""
    if source.startswith("role:"):
        return ", ".join(f"@{h}" for h in facts.roles.get(source.removeprefix("role:"), []))
    values = {
        "incident": facts.ref,
        "title": facts.title,
        "date": f"{facts.detected_at.astimezone(zone):%Y-%m-%d}",
        "duration": _duration(facts, zone),
        "severity": f"{facts.severity} ({facts.severity_name})",
        "type": facts.type or "",
        "author": facts.author,
        "detected": _local(facts.detected_at, zone),
        "acknowledged": _local(facts.acknowledged_at, zone),
        "mitigated": _local(facts.mitigated_at, zone),
        "resolved": _local(facts.resolved_at, zone),
        "users_affected": users(facts),
        "affected_systems": ", ".join(facts.components),
        "incident_status": facts.status,
    }
    return one_line(values.get(source, ""))


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def timeline(template: PostmortemTemplate, events: Sequence[Event], zone: ZoneInfo) -> str:
    if not events:
        return "[No events]"
    days = {e.at.astimezone(zone).date() for e in events}
    pattern = "%H:%M" if len(days) == 1 else "%Y-%m-%d %H:%M"
    times = [e.at.astimezone(zone).strftime(pattern) for e in events]
    if template.timeline_format == "list":
        return "\n".join(
            f"- `{t}` - {one_line(e.summary)} ({e.actor})"
            for t, e in zip(times, events, strict=True)
        )
    time_, event, actor = template.timeline_columns
    rows = [f"| {time_} | {event} | {actor} |", "|------|-------|-------|"]
    rows += [
        f"| {t} | {_cell(e.summary)} | {_cell(e.actor)} |"
        for t, e in zip(times, events, strict=True)
    ]
    return "\n".join(rows)


def impact(extra_rows: str, facts: Facts, zone: ZoneInfo) -> str:
    rows = [
        "| Metric | Value |",
        "|--------|-------|",
        f"| Users affected | {_cell(users(facts)) or '[X]'} |",
        f"| Duration | {_cell(_duration(facts, zone))} |",
        f"| Affected systems | {_cell(', '.join(facts.components)) or '[List]'} |",
        f"| Business impact | {_cell(facts.business_impact) or '[Description]'} |",
    ]
    return "\n".join([*rows, *clean(extra_rows).splitlines()])


FIVE_WHYS = "\n".join(
    [
        "1. **Why** did [symptom] occur? → Because [cause 1]",
        "2. **Why** did [cause 1] happen? → Because [cause 2]",
        "3. **Why** did [cause 2] happen? → Because [cause 3]",
        "4. **Why** did [cause 3] happen? → Because [cause 4]",
        "5. **Why** did [cause 4] happen? → Because [root cause]",
    ]
)


_PLACEHOLDER = re.compile(r"\{(role:[A-Za-z0-9][A-Za-z0-9_.-]*|[a-z_]+)\}")


def fill_in(text: str, facts: Facts, zone: ZoneInfo) -> str:
    """Replace ``{duration}``, ``{role:incident-commander}`` ... (the header fields'
    sources that are not live) in a template's text; other braces stay as written."""

    def value(found: re.Match[str]) -> str:
        name = found[1]
        known = name.startswith("role:") or (
            name in FieldSource.__args__ and name not in LIVE_FIELDS  # type: ignore[attr-defined]
        )
        return field_value(name, facts, zone) if known else found[0]

    return _PLACEHOLDER.sub(value, text)


def _body(spec: SectionSpec, template: PostmortemTemplate, facts: Facts, zone: ZoneInfo) -> str:
    text = fill_in(spec.text, facts, zone)
    if spec.fill == "summary":
        return facts.summary or text
    if spec.fill == "timeline":
        return timeline(template, facts.events, zone)
    if spec.fill == "impact":
        return impact(text, facts, zone)
    if spec.fill == "five_whys":
        return text or FIVE_WHYS
    if spec.fill == "action_items":
        return ""
    return text


def build(template: PostmortemTemplate, facts: Facts, zone: ZoneInfo) -> Draft:
    """The document as created: header values and section bodies from the incident."""
    names = {"title": facts.title, "id": facts.ref, "timezone": zone.key}
    fields = [
        {
            "key": f.source,
            "label": f.label,
            "value": "" if f.source in LIVE_FIELDS else field_value(f.source, facts, zone),
        }
        for f in template.fields
    ]
    sections = [
        {
            "key": spec.key,
            "heading": spec.heading.replace("{timezone}", zone.key),
            "level": spec.level,
            "fill": spec.fill,
            "body": clean(_body(spec, template, facts, zone)),
        }
        for spec in template.sections
    ]
    title = template.title
    for name, value in names.items():
        title = title.replace("{" + name + "}", value)
    return Draft(title=one_line(title), fields=fields, sections=sections)
