"""Any interleaving of trigger, acknowledge and resolve over a handful of dedup keys leaves
exactly the alerts PagerDuty's documented semantics give, whenever the jobs run.

The reference below is PagerDuty's documentation written as code, independently of
``tocsin.alerts.dedup``: per key, a list of alerts; events apply to the open one (the last,
if not resolved); a trigger with none opens one; acknowledge and resolve with none are
dropped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.alerts.conftest import drain

from tocsin.alerts import service as alerts
from tocsin.alerts.dedup import outcome, status_after
from tocsin.alerts.models import Alert, AlertEvent, Integration
from tocsin.alerts.schemas import IncomingEvent, IntegrationIn
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context

KEYS = ("k0", "k1", "k2")
Op = tuple[str, str]  # (action, key), or ("process", "")


@dataclass
class Reference:
    """PagerDuty's semantics: alerts per key as [status, count], and each event's fate."""

    alerts: dict[str, list[list[object]]] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)

    def apply(self, action: str, key: str) -> None:
        mine = self.alerts.setdefault(key, [])
        current = mine[-1] if mine and mine[-1][0] != "resolved" else None
        if action == "trigger":
            if current is None:
                mine.append(["triggered", 1])
                self.outcomes.append("opened")
            else:
                current[1] = int(str(current[1])) + 1  # acknowledged stays acknowledged
                self.outcomes.append("updated")
        elif current is None:
            self.outcomes.append("dropped")
        elif action == "acknowledge":
            self.outcomes.append("acknowledged" if current[0] == "triggered" else "unchanged")
            current[0] = "acknowledged"
        else:
            current[0] = "resolved"
            self.outcomes.append("resolved")


ops = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["trigger", "acknowledge", "resolve"]), st.sampled_from(KEYS)),
        st.just(("process", "")),
    ),
    max_size=24,
)
_names = itertools.count()


async def _new_integration(ctx: Context) -> int:
    async with ctx.db.write() as session:
        made = await alerts.create_integration(
            session,
            SYSTEM,
            IntegrationIn(name=f"prop-{next(_names)}", type="pagerduty"),
            clock=ctx.clock,
            public_url="http://x",
        )
        row = await session.scalar(select(Integration).where(Integration.key == made.id))
        assert row is not None
        return row.id


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=ops)
async def test_alert_states_follow_pagerduty_semantics(ready: Context, ops: list[Op]) -> None:
    integration_id = await _new_integration(ready)
    reference = Reference()
    for action, key in ops:
        if action == "process":
            await drain(ready)
            continue
        reference.apply(action, key)
        event = IncomingEvent(
            action=action,  # type: ignore[arg-type]
            dedup_key=key,
            summary=f"{key} is failing",
            source="host",
            severity="error",
        )
        async with ready.db.write() as session:
            integration = await session.get(Integration, integration_id)
            assert integration is not None
            await alerts.ingest(session, integration, [event], clock=ready.clock)
        ready.clock.advance(seconds=1)
    await drain(ready)
    async with ready.db.read() as session:
        rows = (
            await session.scalars(
                select(Alert).where(Alert.integration_id == integration_id).order_by(Alert.id)
            )
        ).all()
        fates = (
            await session.scalars(
                select(AlertEvent.outcome)
                .where(AlertEvent.integration_id == integration_id)
                .order_by(AlertEvent.id)
            )
        ).all()
    got: dict[str, list[list[object]]] = {}
    for row in rows:
        got.setdefault(row.dedup_key, []).append([row.status, row.count])
    expected = {k: v for k, v in reference.alerts.items() if v}
    assert got == expected
    assert list(fates) == reference.outcomes
    # At most one open alert per key, always.
    for alerts_of_key in got.values():
        assert sum(1 for status, _ in alerts_of_key if status != "resolved") <= 1


@given(
    action=st.sampled_from(["trigger", "acknowledge", "resolve"]),
    status=st.sampled_from([None, "triggered", "acknowledged"]),
)
def test_the_pure_rules_agree_with_the_reference(action: str, status: str | None) -> None:
    reference = Reference()
    if status is not None:
        reference.alerts["k"] = [[status, 1]]
    reference.apply(action, "k")
    result = outcome(action, status)  # type: ignore[arg-type]
    assert result == reference.outcomes[-1]
    after = status_after(result, status)  # type: ignore[arg-type]
    if after is not None:
        assert reference.alerts["k"][-1][0] == after
