"""The number is taken last: no provisional reference survives a declaration.

A declaration runs under a provisional reference and takes the day's number as its last
write (``incidents/numbering.py``). Under every example policy (comms routes that render
messages with the reference, checklists, escalation timers), every text and JSON column of
every table is searched afterwards: the provisional reference is nowhere, the real one is
where the messages and the timeline name the incident.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, func, select
from tests.conftest import apply_policy

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.db import Base
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.incidents.numbering import PROVISIONAL, _replaced
from tocsin.incidents.schemas import DeclareIn
from tocsin.notify.models import Notification
from tocsin.policy import service as policies

POLICIES = sorted((Path(__file__).resolve().parents[2] / "examples" / "policies").glob("*.yaml"))


async def _cells_holding(ctx: Context, needle: str) -> list[str]:
    """``table.column`` of every cell whose text holds ``needle``."""
    found = []
    async with ctx.db.read() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                as_text = func.cast(column, Text) if isinstance(column.type, JSON) else column
                hits = await session.scalar(
                    select(func.count()).select_from(table).where(as_text.contains(needle))
                )
                if hits:
                    found.append(f"{table.name}.{column.name}")
    return found


@pytest.mark.parametrize("policy", POLICIES, ids=[p.stem for p in POLICIES])
async def test_no_provisional_reference_survives(ctx: Context, policy: Path) -> None:
    await apply_policy(ctx, policy)
    async with ctx.db.read() as session:
        _, current = await policies.current(session)
    refs = []
    for severity in current.severities:
        async with ctx.db.write() as session:
            data = DeclareIn(title=f"Checkout down ({severity.key})", severity=severity.key)
            refs.append((await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref)
    assert refs == [f"INC-2026-01-15-{n:03d}" for n in range(1, len(refs) + 1)]
    assert await _cells_holding(ctx, PROVISIONAL) == []
    async with ctx.db.read() as session:
        declared = await session.scalars(
            select(IncidentEvent.summary)
            .where(IncidentEvent.kind == "declared")
            .order_by(IncidentEvent.id)
        )
        summaries = declared.all()
        subjects = (await session.scalars(select(Notification.subject))).all()
    assert [s.split()[1] for s in summaries] == refs
    # Messages rendered in the declaration (comms routes on: declared) name the real number.
    for subject in subjects:
        assert PROVISIONAL not in subject


def test_replacement_reaches_every_string_in_json() -> None:
    old, new = PROVISIONAL + "abc", "INC-2026-01-15-007"
    value = {"incident": old, "list": [f"see {old}", 3, None], old: {"deep": [old]}}
    assert _replaced(value, old, new) == {
        "incident": new,
        "list": [f"see {new}", 3, None],
        new: {"deep": [new]},
    }
    assert _replaced(7, old, new) == 7
