"""De-duplication, as PagerDuty's Events API v2 documents it. Pure: no I/O.

Events with the same dedup key (within one integration) apply to the open alert with that
key:

- ``trigger`` opens a new alert when there is no open one, else is de-duplicated into it
  (its count and last-seen time go up; its summary and severity become the latest). An
  acknowledged alert stays acknowledged.
- ``acknowledge`` acknowledges a triggered alert; twice changes nothing.
- ``resolve`` resolves the open alert. A resolved alert is closed for good: the same key
  later opens a new alert.
- ``acknowledge`` or ``resolve`` with no open alert (unknown key, or resolved already) is
  accepted and dropped.
- A trigger without a dedup key gets a fresh unique one, so it always opens a new alert.
"""

from __future__ import annotations

import uuid
from typing import Literal

Action = Literal["trigger", "acknowledge", "resolve"]
Status = Literal["triggered", "acknowledged", "resolved"]
Outcome = Literal["opened", "updated", "acknowledged", "resolved", "unchanged", "dropped"]

ACTIONS: tuple[Action, ...] = ("trigger", "acknowledge", "resolve")
#: The longest dedup key PagerDuty permits.
MAX_DEDUP_KEY = 255


def outcome(action: Action, open_status: Status | None) -> Outcome:
    """What an event does, given the status of the open alert with its key (or ``None``)."""
    if open_status == "resolved":
        raise ValueError("a resolved alert is not open")
    if action == "trigger":
        return "opened" if open_status is None else "updated"
    if open_status is None:
        return "dropped"
    if action == "acknowledge":
        return "acknowledged" if open_status == "triggered" else "unchanged"
    return "resolved"


def status_after(outcome_: Outcome, open_status: Status | None) -> Status | None:
    """The status of the alert the event applied to, afterwards (``None``: no alert)."""
    if outcome_ == "opened":
        return "triggered"
    if outcome_ == "acknowledged":
        return "acknowledged"
    if outcome_ == "resolved":
        return "resolved"
    return open_status


def new_dedup_key() -> str:
    """The key given to a trigger sent without one: unique, like PagerDuty's (a UUID)."""
    return uuid.uuid4().hex
