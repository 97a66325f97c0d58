"""The incident lifecycle: which status may follow which. Pure."""

from __future__ import annotations

from typing import Literal

Status = Literal["investigating", "identified", "monitoring", "resolved", "closed"]
STATUSES: tuple[Status, ...] = ("investigating", "identified", "monitoring", "resolved", "closed")
OPEN_STATUSES: tuple[Status, ...] = ("investigating", "identified", "monitoring")

#: Forward moves may skip steps (a quick fix goes straight to resolved); an open incident
#: may go back when a hypothesis or a fix turns out wrong. A resolved incident is reopened
#: (back to investigating) or closed; closed is final.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    "investigating": frozenset({"identified", "monitoring", "resolved"}),
    "identified": frozenset({"investigating", "monitoring", "resolved"}),
    "monitoring": frozenset({"investigating", "identified", "resolved"}),
    "resolved": frozenset({"investigating", "closed"}),
    "closed": frozenset(),
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())  # type: ignore[call-overload]
