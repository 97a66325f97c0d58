"""After the incident: each severity's postmortem rule and follow-up deadlines, and the
``postmortems:`` section (document templates, action items).

Deadlines count from resolution on the policy's calendar (``3bd`` are business days).
Pure data; the engine is :mod:`tocsin.postmortems`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from tocsin.policy.schema_escalation import TargetRef
from tocsin.policy.spans import Span
from tocsin.policy.types import Duration, Flag, Slug, Strict

#: What meets a deadline: every item of an incident checklist checked
#: (``checklist:<key>``), the postmortem written (``postmortem:created``), sent for review
#: (``postmortem:in_review``) or final (``postmortem:final``), its meeting planned
#: (``meeting``), or every action item done or dropped (``action_items``).
DoneWhen = Annotated[
    str,
    Field(
        pattern=r"^(checklist:[A-Za-z0-9][A-Za-z0-9_.-]*|postmortem:(created|in_review|final)"
        r"|meeting|action_items)$",
        examples=["checklist:direct-na-resolution", "meeting", "postmortem:final"],
    ),
]


class Deadline(Strict):
    """A post-incident deadline: reminded ``remind_after`` resolution when not met yet,
    escalated when it passes."""

    key: Slug
    name: str
    within: Duration
    business_hours: Flag = False
    done_when: DoneWhen
    remind_after: Duration | None = None
    #: Reminded (and told when overdue); by default whoever answered for the incident.
    remind: list[TargetRef] = []
    #: Told as well once the deadline has passed.
    escalate_to: list[TargetRef] = []


class PostmortemRule(Strict):
    """Whether a severity needs a postmortem, and by when its meeting is held."""

    required: Flag = False
    #: The postmortem meeting's deadline after resolution (met by planning the meeting).
    within: Duration | None = None
    business_hours: Flag = False
    #: A reminder this long after resolution while no meeting is planned.
    remind_after: Duration | None = None
    #: The template (``postmortems.templates``); else ``postmortems.default_template``.
    template: Slug | None = None
    #: Further deadlines after resolution (a checklist within 24h, follow-up in 2 weeks).
    deadlines: list[Deadline] = []


#: What the document is pre-filled with for a header field.
FieldSource = Literal[
    "incident",
    "title",
    "date",
    "duration",
    "severity",
    "type",
    "author",
    "detected",
    "acknowledged",
    "mitigated",
    "resolved",
    "users_affected",
    "affected_systems",
    "incident_status",
    # rendered from the postmortem and incident at export, never stored; an imported
    # root cause category is recorded on the incident:
    "status",
    "reviewers",
    "root_cause",
]
LIVE_FIELDS = ("status", "reviewers", "root_cause")
_ROLE_FIELD = re.compile(r"^role:[A-Za-z0-9][A-Za-z0-9_.-]*$")


class HeaderField(Strict):
    """One ``**Label:** value`` line under the title; ``source`` is what fills it
    (``role:<key>`` is who held that incident role)."""

    label: str = Field(min_length=1, max_length=80)
    source: str

    @model_validator(mode="after")
    def _known_source(self) -> HeaderField:
        if self.source not in FieldSource.__args__ and not _ROLE_FIELD.match(self.source):  # type: ignore[attr-defined]
            known = ", ".join(FieldSource.__args__)  # type: ignore[attr-defined]
            raise ValueError(f"unknown field source {self.source!r} (known: {known}, role:<key>)")
        return self


#: How a section is pre-filled: kept as written (``text``), or from the incident.
#: ``action_items`` is rendered from the action items at export (edit them with
#: ``tocsin actions``); ``impact`` appends the section's text as further table rows.
SectionFill = Literal["text", "summary", "timeline", "impact", "five_whys", "action_items"]


class SectionSpec(Strict):
    key: Slug
    heading: str = Field(min_length=1, max_length=200)
    #: 2 for ``##``, 3 for ``###`` ...
    level: int = Field(2, ge=2, le=4)
    fill: SectionFill = "text"
    #: The section's first text (the template's hint, e.g. ``[2-3 sentences ...]``).
    text: str = ""


class PostmortemTemplate(Strict):
    key: Slug
    name: str
    locale: Literal["en", "nl"] = "en"
    #: The document's ``#`` title; ``{title}`` is the incident's title, ``{id}`` its id.
    title: str = "Post-Mortem: {title}"
    fields: list[HeaderField] = []
    #: How a header line is written: ``**{label}:** {value}`` or ``- **{label}**: {value}``.
    field_format: Literal[
        "**{label}:** {value}", "**{label}**: {value}", "- **{label}**: {value}"
    ] = "**{label}:** {value}"
    #: Which timeline events pre-fill the timeline: all, or those pinned for the postmortem.
    timeline: Literal["all", "pinned"] = "all"
    timeline_format: Literal["table", "list"] = "list"
    #: Column labels of a table timeline: time, event, actor.
    timeline_columns: list[str] = Field(["Time", "Event", "Actor"], min_length=3, max_length=3)
    action_items_format: Literal["table", "list"] = "table"
    sections: list[SectionSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sections(self) -> PostmortemTemplate:
        keys = [s.key for s in self.sections]
        headings = [s.heading.lower() for s in self.sections]
        for what, values in (("key", keys), ("heading", headings)):
            doubled = sorted({v for v in values if values.count(v) > 1})
            if doubled:
                raise ValueError(f"section {what}s must differ: {', '.join(doubled)} repeated")
        return self


class ActionItemRules(Strict):
    priorities: list[Slug] = Field(["high", "medium", "low"], min_length=1)
    #: The due date of an item given none (counted from its creation), if any.
    default_due: Duration | None = None
    #: The owner is reminded this long before the due date.
    remind_before: Duration | None = Span(time=timedelta(days=1))
    #: Told besides the owner when an item is overdue.
    escalate_to: list[TargetRef] = []


class Postmortems(Strict):
    templates: list[PostmortemTemplate] = []
    #: The template of severities that name none; without one, Tocsin's built-in.
    default_template: Slug | None = None
    action_items: ActionItemRules = ActionItemRules()

    def template(self, key: str | None) -> PostmortemTemplate | None:
        wanted = key or self.default_template
        return next((t for t in self.templates if t.key == wanted), None)
