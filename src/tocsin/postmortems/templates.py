"""Tocsin's own postmortem template, used when the policy defines none.

It has every section a blameless postmortem needs (the seeds' templates agree on them):
summary, what happened, timeline, 5 whys, root cause, contributing factors, impact,
what went well and poorly, lessons learned, recommendations and action items.
"""

from __future__ import annotations

from tocsin.policy.schema import Policy
from tocsin.policy.schema_postmortems import HeaderField, PostmortemTemplate, SectionSpec

BUILT_IN = PostmortemTemplate(
    key="tocsin",
    name="Post-Mortem",
    title="Post-Mortem: {title}",
    fields=[
        HeaderField(label="Incident", source="incident"),
        HeaderField(label="Date", source="date"),
        HeaderField(label="Duration", source="duration"),
        HeaderField(label="Severity", source="severity"),
        HeaderField(label="Author", source="author"),
        HeaderField(label="Reviewers", source="reviewers"),
        HeaderField(label="Status", source="status"),
        HeaderField(label="Root cause category", source="root_cause"),
    ],
    timeline_format="table",
    sections=[
        SectionSpec(
            key="executive_summary",
            heading="Executive Summary",
            fill="summary",
            text="[2-3 sentences: the incident, its impact and its resolution]",
        ),
        SectionSpec(
            key="what_happened",
            heading="What Happened",
            text="[Technical description of the problem]",
        ),
        SectionSpec(key="timeline", heading="Timeline ({timezone})", fill="timeline"),
        SectionSpec(key="five_whys", heading="5 Whys", fill="five_whys"),
        SectionSpec(
            key="root_cause", heading="Root Cause", text="[The underlying cause, concluded]"
        ),
        SectionSpec(
            key="contributing_factors",
            heading="Contributing Factors",
            text="- [What made this incident possible or worse]",
        ),
        SectionSpec(key="impact", heading="Impact", fill="impact"),
        SectionSpec(key="went_well", heading="What Went Well", text="- [Item]"),
        SectionSpec(key="went_poorly", heading="What Went Poorly", text="- [Item]"),
        SectionSpec(key="action_items", heading="Action Items", fill="action_items"),
        SectionSpec(key="lessons_learned", heading="Lessons Learned", text="- [Insight]"),
        SectionSpec(key="recommendations", heading="Recommendations", text="1. [Recommendation]"),
    ],
)


def template_for(policy: Policy, severity: str, wanted: str | None = None) -> PostmortemTemplate:
    """The template named ``wanted``, else the severity's, else the policy's default,
    else the built-in one. An unknown ``wanted`` is a LookupError naming the known ones."""
    settings = policy.postmortems
    if wanted is not None:
        found = settings.template(wanted) or (BUILT_IN if wanted == BUILT_IN.key else None)
        if found is None:
            known = ", ".join([t.key for t in settings.templates] + [BUILT_IN.key])
            raise LookupError(f"unknown postmortem template {wanted!r} (known: {known})")
        return found
    rule = policy.severity(severity)
    key = rule.postmortem.template if rule is not None else None
    return settings.template(key) or BUILT_IN
