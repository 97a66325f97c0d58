"""Markdown export → import round-trips without loss, for every template of every example
policy (and the built-in one); edits come back into the sections; bad documents say where.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.conftest import POLICIES, apply_policy

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.errors import InvalidInput
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.incidents.schemas import DeclareIn
from tocsin.policy import service as policies
from tocsin.postmortems import actions, service
from tocsin.postmortems.schemas import ActionItemIn, CreateIn, PostmortemOut
from tocsin.postmortems.templates import BUILT_IN

EXAMPLES = sorted(POLICIES.glob("*.yaml"))


async def _incident(ctx: Context) -> str:
    """An incident with awkward text: pipes, backticks, '#' lines, unicode, a code fence."""
    policy = await _policy(ctx)
    async with ctx.db.write() as session:
        data = DeclareIn(
            title="Betalingen | Stripe — webhooks `500`",
            severity=policy.severities[0].key,
            summary="Eerste regel.\n\n## Not a section\nTweede regel met | pipe",
            impact={"users_affected": 42, "business_impact": "Refunds | credits"},
        )
        ref = (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref
        await incidents.add_note(
            session, SYSTEM, ref, "```\n## Timeline\n```\nnote | with pipe", clock=ctx.clock
        )
        owner = next((p.handle for p in policy.people), None)
        if owner is not None:
            item = ActionItemIn(
                title="Fix | the pool", owner=owner, due_at=ctx.clock.now() + timedelta(days=3)
            )
            await actions.add(session, SYSTEM, ref, item, clock=ctx.clock)
    return ref


async def _policy(ctx: Context):  # type: ignore[no-untyped-def]
    async with ctx.db.read() as session:
        return await policies.current_policy(session)


async def _roundtrip(ctx: Context, ref: str) -> tuple[str, PostmortemOut, PostmortemOut]:
    async with ctx.db.read() as session:
        first = await service.export_markdown(session, SYSTEM, ref)
        incident, postmortem = await service.get(session, SYSTEM, ref)
        before = await service.describe(session, incident, postmortem, clock=ctx.clock)
    async with ctx.db.write() as session:
        await service.import_markdown(session, SYSTEM, ref, first, clock=ctx.clock)
    async with ctx.db.read() as session:
        again = await service.export_markdown(session, SYSTEM, ref)
        incident, postmortem = await service.get(session, SYSTEM, ref)
        after = await service.describe(session, incident, postmortem, clock=ctx.clock)
    assert again == first
    return first, before, after


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_every_template_round_trips(ctx: Context, path: Path) -> None:
    await apply_policy(ctx, path)
    policy = await _policy(ctx)
    keys = [t.key for t in policy.postmortems.templates] + [BUILT_IN.key]
    for key in keys:
        ref = await _incident(ctx)
        async with ctx.db.write() as session:
            await service.create(session, SYSTEM, ref, CreateIn(template=key), clock=ctx.clock)
        text, before, after = await _roundtrip(ctx, ref)
        assert after == before, key
        assert text.startswith(f"# {before.title}\n"), key
        for section in before.sections:
            assert f"{'#' * section.level} {section.heading}\n" in text
        if policy.people:
            assert "Fix | the pool" in text or "Fix / the pool" in text
        async with ctx.db.read() as session:
            imported = await session.scalar(
                select(func.count()).where(
                    IncidentEvent.kind == "postmortem", IncidentEvent.summary.like("%imported%")
                )
            )
        assert imported == 0, "importing an unchanged export changes nothing"


async def test_edits_come_back_and_the_root_cause_is_recorded(seeded: Context) -> None:
    ref = await _incident(seeded)
    async with seeded.db.write() as session:
        await service.create(session, SYSTEM, ref, CreateIn(), clock=seeded.clock)
        text = await service.export_markdown(session, SYSTEM, ref)
    assert "**Root Cause Category**: \n" not in text and "**Root Cause Category**:\n" in text
    went_well = "1. [Effective action or good decision]"
    edited = (
        text.replace(went_well, "1. Fast rollback\n\n### Also\n\n- The pager worked  ")
        .replace(
            "**Root Cause Category**:", "**Root Cause Category**: Memory leaks in application code"
        )
        .replace("# Post-Mortem: ", "# Post-Mortem (v2): ")
    )
    async with seeded.db.write() as session:
        await service.import_markdown(session, SYSTEM, ref, edited, clock=seeded.clock)
    async with seeded.db.read() as session:
        incident, postmortem = await service.get(session, SYSTEM, ref)
        out = await service.describe(session, incident, postmortem, clock=seeded.clock)
        again = await service.export_markdown(session, SYSTEM, ref)
    body = {s.key: s.body for s in out.sections}
    assert body["went-well"] == "1. Fast rollback\n\n### Also\n\n- The pager worked"
    assert out.title.startswith("Post-Mortem (v2): ")
    assert incident.root_cause == "memory-leak"
    assert again == edited.replace("worked  \n", "worked\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("## Lessons Learned\n", ""), "lacks the section(s) 'Lessons Learned'"),
        (lambda t: t.replace("**Date**:", "**When**:"), "line 3: expected a header field"),
        (lambda t: t.split("\n", 1)[1], "must start with a '# ' title"),
        (lambda t: t + "\n## Timeline\n\nagain\n", "section 'Timeline' appears twice"),
    ],
)
async def test_a_broken_document_says_where(seeded: Context, change, message: str) -> None:  # type: ignore[no-untyped-def]
    ref = await _incident(seeded)
    async with seeded.db.write() as session:
        await service.create(session, SYSTEM, ref, CreateIn(), clock=seeded.clock)
        text = await service.export_markdown(session, SYSTEM, ref)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        async with seeded.db.write() as session:
            await service.import_markdown(session, SYSTEM, ref, change(text), clock=seeded.clock)


async def test_a_pinned_timeline_holds_only_the_pinned_events(seeded: Context) -> None:
    ref = await _incident(seeded)
    async with seeded.db.write() as session:
        events = await incidents.timeline(session, SYSTEM, ref)
        chosen = [e for e in events if e.kind in ("declared", "note")]
        for event in chosen:
            await service.pin(session, SYSTEM, ref, event.id, True, clock=seeded.clock)
        await service.pin(session, SYSTEM, ref, events[-1].id, True, clock=seeded.clock)
        await service.pin(session, SYSTEM, ref, events[-1].id, False, clock=seeded.clock)
        made = await service.create(
            session, SYSTEM, ref, CreateIn(timeline="pinned"), clock=seeded.clock
        )
    timeline = next(s["body"] for s in made.sections if s["fill"] == "timeline")
    assert len(timeline.splitlines()) == len(chosen) == 2
    assert "Declared" in timeline.splitlines()[0] and "note \\| with pipe" not in timeline
    assert "note | with pipe" in timeline.splitlines()[1]
