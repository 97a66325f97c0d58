"""The ``escalation:`` and ``reminders:`` sections: who is paged, told or asked, and when.

A ladder is a list of steps, each firing at a time after escalation starts (``at``) or
after the previous step (``after``), if its condition still holds. Pure data; the engine
is :mod:`tocsin.escalation`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tocsin.policy.types import Duration, Slug, Strict

#: ``role:<slug>``, ``user:<key or e-mail>``, ``schedule:<key>``, ``team:<key>``, ``channel:<key>``
TARGET_KINDS = ("role", "user", "schedule", "team", "channel")
TargetRef = Annotated[
    str,
    Field(
        pattern=r"^(role|user|schedule|team|channel):\S+$",
        examples=["schedule:primary", "role:incident-commander", "user:dana"],
    ),
]
Condition = Literal["unacknowledged", "not_identified", "not_mitigated", "not_resolved", "always"]
CONDITIONS: tuple[str, ...] = (
    "unacknowledged",
    "not_identified",
    "not_mitigated",
    "not_resolved",
    "always",
)
ACTIONS = ("page", "notify", "assign", "require")


def _condition(value: Any) -> Any:
    """Accept ``not identified`` as well as ``not_identified``."""
    return re.sub(r"[\s-]+", "_", value.strip().lower()) if isinstance(value, str) else value


class Assign(Strict):
    """Give an incident role to whoever a target resolves to (first person found)."""

    role: Slug
    to: TargetRef


class Require(Strict):
    """An action people must take: becomes a checklist item and a reminder to a role."""

    task: str = Field(min_length=1)
    role: Slug | None = None


class Step(Strict):
    name: str = ""
    #: Time after escalation started ...
    at: Duration | None = None
    #: ... or after the previous step.
    after: Duration | None = None
    #: The step fires only if this still holds; ``page`` steps default to ``unacknowledged``,
    #: the others to ``always`` (until resolved).
    when: Condition | None = None
    page: list[TargetRef] | None = None
    notify: list[TargetRef] | None = None
    assign: Assign | None = None
    require: Require | None = None

    _when = field_validator("when", mode="before")(_condition)

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a step does exactly one of {', '.join(ACTIONS)}; this one does "
                + (", ".join(given) if given else "none")
            )
        if self.at is not None and self.after is not None:
            raise ValueError("give 'at' (from the start) or 'after' (from the previous step)")
        for span in (self.at, self.after):
            if span is not None and span.business_days:
                raise ValueError("escalation steps count clock time, not business days")
        if self.page == [] or self.notify == []:
            raise ValueError("a page or notify step needs at least one target")
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)

    @property
    def condition(self) -> str:
        return self.when or ("unacknowledged" if self.page is not None else "always")

    @property
    def targets(self) -> list[str]:
        if self.assign is not None:
            return [self.assign.to]
        if self.require is not None:
            return [f"role:{self.require.role}"] if self.require.role else []
        return list(self.page or self.notify or [])


class Ladder(Strict):
    """An escalation policy: the steps for incidents of some severities (and types)."""

    key: Slug
    name: str = ""
    description: str = ""
    #: Incidents of these severities / types use this ladder; empty means any. The first
    #: matching ladder in the file wins.
    severities: list[Slug] = []
    types: list[Slug] = []
    steps: list[Step] = Field(min_length=1)
    #: Run the whole ladder this many more times while its conditions hold ...
    repeat: Annotated[int, Field(ge=0, le=20)] = 0
    #: ... starting again this long after the last step.
    repeat_after: Duration | None = None

    @model_validator(mode="after")
    def _repeatable(self) -> Ladder:
        if self.repeat and (self.repeat_after is None or self.repeat_after.time <= timedelta(0)):
            raise ValueError("a ladder that repeats needs 'repeat_after', e.g. '30m'")
        return self

    def offsets(self) -> list[timedelta]:
        """Each step's time after the start of one run of the ladder."""
        found: list[timedelta] = []
        for step in self.steps:
            previous = found[-1] if found else timedelta(0)
            if step.at is not None:
                found.append(step.at.time)
            else:
                found.append(previous + (step.after.time if step.after else timedelta(0)))
        return found

    def cycle(self) -> timedelta:
        """How long one run lasts before the next repeat starts."""
        gap = self.repeat_after.time if self.repeat_after else timedelta(0)
        return max(self.offsets()) + gap


class Reminders(Strict):
    """When people are reminded of what the runbook expects of them."""

    #: Warn ahead of each SLA due time: a share of the target (``20%``) or a span (``10m``).
    sla_warning: str = "20%"
    #: Who is reminded that a status update is due: the first target that reaches anyone;
    #: by default whoever holds an exclusive role (the commander), else who acknowledged.
    updates_to: list[TargetRef] = []

    @field_validator("sla_warning")
    @classmethod
    def _warning(cls, value: str) -> str:
        warning_ahead(value, timedelta(hours=1))
        return value

    def warn_ahead(self, target: timedelta) -> timedelta:
        return warning_ahead(self.sla_warning, target)


def warning_ahead(text: str, target: timedelta) -> timedelta:
    """How long before the due time to warn, for a target of length ``target``."""
    from tocsin.policy.spans import parse_span

    value = text.strip()
    if value.endswith("%"):
        try:
            share = float(value[:-1])
        except ValueError:
            share = -1
        if not 0 <= share <= 100:
            raise ValueError(f"{text!r}: a share must be between 0% and 100%")
        return target * (share / 100)
    span = parse_span(value)
    if span.business_days:
        raise ValueError(f"{text!r}: warn a clock time ahead, such as '10m'")
    return span.time
