"""How often one contact method of one person may be messaged (pure; no I/O).

A flapping alert source must not flood a phone. Per (channel, recipient) at most
``per_minute`` messages in any minute, ``per_15_minutes`` in any quarter hour and
``per_hour`` in any hour; a message over a limit is held until the window has room, and
everything held by then goes out bundled in one message with a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tocsin.policy.schema_comms import Throttle

WINDOWS = (
    (timedelta(minutes=1), "per_minute"),
    (timedelta(minutes=15), "per_15_minutes"),
    (timedelta(hours=1), "per_hour"),
)
#: The longest window: older messages never matter.
HORIZON = WINDOWS[-1][0]


def free_at(sent: Sequence[datetime], now: datetime, throttle: Throttle) -> datetime | None:
    """``None`` if a message may go at ``now`` after the ones ``sent``; else the earliest
    time one may (when every full window has dropped its oldest message)."""
    wait: datetime | None = None
    for length, field in WINDOWS:
        limit: int = getattr(throttle, field)
        if limit == 0:
            continue
        recent = sorted(t for t in sent if t > now - length)
        if len(recent) >= limit:
            opens = recent[len(recent) - limit] + length
            wait = opens if wait is None else max(wait, opens)
    return wait


_NOTE = {
    "en": "{count} more message(s) to you were held back by the rate limit: {subjects}",
    "nl": "{count} andere bericht(en) aan jou zijn door de limiet tegengehouden: {subjects}",
}


def bundle_note(subjects: Sequence[str], locale: str, *, shown: int = 5) -> str:
    """The line a bundled message ends with: how many were held, and the first few."""
    listed = "; ".join(subjects[:shown]) + ("; …" if len(subjects) > shown else "")
    return _NOTE.get(locale, _NOTE["en"]).format(count=len(subjects), subjects=listed)
