"""The pure parts: lifecycle moves and SLA verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.incidents.lifecycle import STATUSES, can_move
from tocsin.incidents.sla import compute_due, evaluate
from tocsin.policy.calendar import BusinessCalendar
from tocsin.policy.schema import Severity

T0 = datetime(2026, 1, 16, 16, 30, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("investigating", "identified", True),
        ("investigating", "resolved", True),
        ("investigating", "closed", False),
        ("monitoring", "investigating", True),
        ("resolved", "investigating", True),
        ("resolved", "identified", False),
        ("resolved", "closed", True),
        ("closed", "investigating", False),
        ("identified", "identified", False),
    ],
)
def test_lifecycle_moves(current: str, target: str, allowed: bool) -> None:
    assert can_move(current, target) is allowed


def test_closed_is_final() -> None:
    assert not any(can_move("closed", s) for s in STATUSES)


def test_due_times_follow_anchors_and_business_hours() -> None:
    severity = Severity.model_validate(
        {
            "key": "SEV3",
            "name": "Moderate",
            "sla": {
                "acknowledge": {"within": "1h", "business_hours": True},
                "mitigate": {"within": "8h", "from": "acknowledged"},
            },
            "required_roles": [{"role": "incident-commander", "within": "30m"}],
        }
    )
    calendar = BusinessCalendar(zone=ZoneInfo("UTC"))
    due = compute_due(severity, {"detected": T0, "declared": T0 + timedelta(minutes=5)}, calendar)
    # 30 business minutes on Friday, 30 on Monday.
    assert due["acknowledge"] == datetime(2026, 1, 19, 9, 30, tzinfo=UTC)
    assert due["mitigate"] is None  # not acknowledged yet: unknown
    assert due["role:incident-commander"] == T0 + timedelta(minutes=35)
    acked = T0 + timedelta(hours=1)
    later = compute_due(severity, {"detected": T0, "declared": T0, "acknowledged": acked}, calendar)
    assert later["mitigate"] == acked + timedelta(hours=8)


def test_verdicts_and_margins() -> None:
    due = T0 + timedelta(minutes=10)
    met = evaluate("acknowledge", due, T0 + timedelta(minutes=4), T0)
    assert (met.verdict, met.margin, met.describe()) == (
        "met",
        timedelta(minutes=6),
        "met with 6m to spare",
    )
    late = evaluate("acknowledge", due, T0 + timedelta(minutes=12), T0)
    assert (late.verdict, late.describe()) == ("breached", "breached by 2m")
    waiting = evaluate("acknowledge", due, None, T0 + timedelta(minutes=1))
    assert (waiting.verdict, waiting.describe()) == ("pending", "due in 9m")
    overdue = evaluate("acknowledge", due, None, T0 + timedelta(hours=1, minutes=10))
    assert (overdue.verdict, overdue.describe()) == ("breached", "breached by 1h")
    unknown = evaluate("mitigate", None, None, T0)
    assert (unknown.verdict, unknown.describe()) == ("pending", "pending")
