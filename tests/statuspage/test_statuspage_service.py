"""The status page's model: components from the policy with their status history, public
incidents published only with ``update-status-page`` and never from a restricted incident,
updates that move components, drafts from the policy's templates, the page's version."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.conftest import POLICIES, add_user, apply_policy

from tocsin.alerts.ratelimit import RateLimiter
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.context import Context
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.incidents.schemas import DeclareIn
from tocsin.jobs import service as jobs
from tocsin.notify.models import Notification
from tocsin.statuspage import public, service, subscribers
from tocsin.statuspage.models import ComponentChange, StatusComponent, Subscriber
from tocsin.statuspage.schemas import (
    ComponentIn,
    DraftIn,
    MaintenanceIn,
    MaintenanceUpdateIn,
    PublishIn,
    SubscribeIn,
    UpdateIn,
)

SEED_000 = POLICIES / "seed-000-arabisch-online-leren.yaml"


async def publisher(ctx: Context) -> Actor:
    """Seed 004's Communication Coordinator: may update the status page."""
    return await add_user(ctx, "sp-coordinator@example.com", roles=("communications-coordinator",))


async def statuses(ctx: Context) -> dict[str, str]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(StatusComponent))
        return {row.key: row.status for row in rows}


async def version(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return await public.public_version(session)


async def test_the_policy_components_and_groups_are_on_the_page(seeded: Context) -> None:
    async with seeded.db.read() as session:
        rows = await service.list_components(session)
    by_key = {c.key: c for c in rows}
    assert by_key["score-recording"].group == "group-learning"
    assert by_key["group-learning"].is_group
    assert by_key["database"].group == "group-platform"
    assert all(c.status == "operational" and c.source == "policy" for c in rows)
    async with seeded.db.read() as session:
        first = await service.component_history(session, "score-recording")
    assert [(h.old_status, h.new_status) for h in first] == [(None, "operational")]


async def test_a_component_the_policy_drops_leaves_the_page_with_its_history(
    seeded: Context, tmp_path: Path
) -> None:
    text = (POLICIES / "seed-004-incident-response.yaml").read_text(encoding="utf-8")
    line = "  - {key: leaderboards, name: Leaderboards, group: Learning}\n"
    assert line in text
    changed = tmp_path / "policy.yaml"
    changed.write_text(text.replace(line, ""), encoding="utf-8")
    before = await version(seeded)
    await apply_policy(seeded, changed)
    assert await version(seeded) > before
    async with seeded.db.read() as session:
        keys = [c.key for c in await service.list_components(session)]
        view = await public.public_view(session, clock=seeded.clock)
    assert "leaderboards" not in keys
    assert "leaderboards" not in {c["id"] for c in view.components}


async def test_only_update_status_page_publishes(seeded: Context) -> None:
    engineer = await add_user(seeded, "sp-engineer@example.com", roles=("on-call-engineer",))
    data = PublishIn(name="Scores", body="Looking.", components={"score-recording": "major_outage"})
    with pytest.raises(Forbidden) as refused:
        async with seeded.db.write() as session:
            await service.publish(session, engineer, data, clock=seeded.clock)
    assert refused.value.details["permission"] == "update-status-page"
    assert "communications-coordinator" in refused.value.details["granted_by_roles"]
    async with seeded.db.write() as session:
        row = await service.publish(session, await publisher(seeded), data, clock=seeded.clock)
    assert row.status == "investigating" and row.impact == "critical"
    assert (await statuses(seeded))["score-recording"] == "major_outage"


async def test_a_restricted_incident_is_never_linked_nor_drafted_from(seeded: Context) -> None:
    async with seeded.db.write() as session:
        breach = await incidents.declare(
            session,
            SYSTEM,
            DeclareIn(title="Breach", severity="SEV1", type="security"),
            clock=seeded.clock,
        )
    assert breach.restricted
    data = PublishIn(name="Trouble", body="Looking.", incident=breach.ref)
    with pytest.raises(Forbidden, match="restricted"):
        async with seeded.db.write() as session:
            await service.publish(session, SYSTEM, data, clock=seeded.clock)
    with pytest.raises(Forbidden, match="restricted"):
        async with seeded.db.write() as session:
            await service.draft(session, SYSTEM, DraftIn(incident=breach.ref), clock=seeded.clock)


async def test_updates_move_components_and_every_change_is_kept(seeded: Context) -> None:
    clock = seeded.clock
    actor = await publisher(seeded)
    async with seeded.db.write() as session:
        internal = await incidents.declare(
            session, SYSTEM, DeclareIn(title="Scores lost", severity="SEV1"), clock=clock
        )
    start = await version(seeded)
    async with seeded.db.write() as session:
        row = await service.publish(
            session,
            actor,
            PublishIn(
                name="Scores are not saved",
                body="We are investigating.",
                components={"score-recording": "major_outage", "api": "degraded_performance"},
                incident=internal.ref,
            ),
            clock=clock,
        )
    public_id = row.public_id
    steps = [
        ("identified", {"score-recording": "partial_outage"}),
        ("monitoring", {"score-recording": "degraded_performance"}),
        ("resolved", {}),
    ]
    for status, components in steps:
        clock.advance(minutes=20)
        async with seeded.db.write() as session:
            await service.post_update(
                session,
                actor,
                public_id,
                UpdateIn(status=status, body=f"Now {status}.", components=components),
                clock=clock,
            )
    assert await version(seeded) == start + 4
    now = await statuses(seeded)
    assert now["score-recording"] == now["api"] == "operational"
    async with seeded.db.read() as session:
        history = await service.component_history(session, "score-recording")
        shown = await service.get_public(session, public_id)
        events = (
            await session.scalars(
                select(IncidentEvent.summary).where(
                    IncidentEvent.incident_id == internal.id, IncidentEvent.kind == "statuspage"
                )
            )
        ).all()
    assert [h.new_status for h in history] == [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "operational",
    ]
    assert all(h.incident == public_id for h in history[:-1])
    assert [u.status for u in shown.updates] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert shown.impact == "critical"  # the worst it reached
    assert shown.resolved_at == clock.now()
    assert shown.incident == internal.ref  # publishers see the link
    assert len(events) == 4  # the internal timeline says what was published

    with pytest.raises(Conflict):
        async with seeded.db.write() as session:
            await service.post_update(
                session,
                actor,
                public_id,
                UpdateIn(status="investigating", body="Again?"),
                clock=clock,
            )
    async with seeded.db.write() as session:
        await service.post_update(
            session,
            actor,
            public_id,
            UpdateIn(status="postmortem", body="What we learnt."),
            clock=clock,
        )


async def test_resolving_leaves_a_component_another_incident_still_has(seeded: Context) -> None:
    clock = seeded.clock
    async with seeded.db.write() as session:
        first = await service.publish(
            session,
            SYSTEM,
            PublishIn(name="One", body="x", components={"api": "partial_outage"}),
            clock=clock,
        )
        await service.publish(
            session,
            SYSTEM,
            PublishIn(name="Two", body="y", components={"api": "partial_outage"}),
            clock=clock,
        )
    async with seeded.db.write() as session:
        await service.post_update(
            session,
            SYSTEM,
            first.public_id,
            UpdateIn(status="resolved", body="One fixed."),
            clock=clock,
        )
    assert (await statuses(seeded))["api"] == "partial_outage"


async def test_groups_and_unknown_components_are_refused(seeded: Context) -> None:
    for components in ({"group-learning": "major_outage"}, {"no-such": "major_outage"}):
        with pytest.raises((InvalidInput, Exception)) as refused:
            async with seeded.db.write() as session:
                await service.publish(
                    session,
                    SYSTEM,
                    PublishIn(name="x", body="y", components=components),
                    clock=seeded.clock,
                )
        assert refused.value.status in (404, 422)  # type: ignore[attr-defined]
    async with seeded.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(ComponentChange))
    assert count == len(await statuses(seeded))  # only the first rows: nothing changed


async def test_a_draft_uses_the_policy_templates_without_people(ctx: Context) -> None:
    await apply_policy(ctx, SEED_000)
    commander = await add_user(ctx, "commander-person@example.com")
    async with ctx.db.write() as session:
        incident = await incidents.declare(
            session,
            commander,
            DeclareIn(title="Lessen laden niet", severity="P1", components=["lessen"]),
            clock=ctx.clock,
        )
        draft = await service.draft(
            session,
            SYSTEM,
            DraftIn(incident=incident.ref, status="identified", fields={"root_cause": "Een index"}),
            clock=ctx.clock,
        )
        dutch = await service.draft(
            session, SYSTEM, DraftIn(incident=incident.ref, status="monitoring"), clock=ctx.clock
        )
    # Seed 000's own (English) status-page text, with the incident's components.
    assert (
        "We have identified the cause of the issue affecting Lessen (content_library)."
        in draft.body
    )
    assert "**Root Cause:** Een index" in draft.body
    assert draft.template == "status-identified"
    assert draft.components == {"lessen": "partial_outage"}
    # No policy text for monitoring: Tocsin's built-in, in the page's language (nl).
    assert "We hebben een oplossing doorgevoerd voor Lessen (content_library)" in dutch.body
    assert "commander-person" not in draft.body + dutch.body


async def test_every_public_change_moves_the_version_and_reading_does_not(
    seeded: Context,
) -> None:
    clock = seeded.clock
    seen = [await version(seeded)]

    async def changed() -> None:
        now = await version(seeded)
        assert now > seen[-1]
        seen.append(now)

    async with seeded.db.write() as session:
        await service.create_component(
            session,
            SYSTEM,
            ComponentIn(key="mobile", name="Mobile app", group="Apps"),
            clock=clock,
        )
    await changed()
    async with seeded.db.write() as session:
        await service.set_component_status(session, SYSTEM, "mobile", "partial_outage", clock=clock)
    await changed()
    async with seeded.db.write() as session:
        row = await service.schedule_maintenance(
            session,
            SYSTEM,
            MaintenanceIn(
                name="m",
                body="b",
                scheduled_for=clock.now() + timedelta(hours=1),
                scheduled_until=clock.now() + timedelta(hours=2),
                components=["mobile"],
            ),
            clock=clock,
        )
    await changed()
    async with seeded.db.write() as session:
        await service.move_maintenance(
            session, SYSTEM, row.public_id, MaintenanceUpdateIn(status="in_progress"), clock=clock
        )
    await changed()
    async with seeded.db.write() as session:
        await service.remove_component(session, SYSTEM, "mobile", clock=clock)
    await changed()
    await apply_policy(seeded, SEED_000)
    await changed()
    async with seeded.db.read() as session:
        view = await public.public_view(session, clock=clock)
        await service.list_components(session)
    assert view.version == seen[-1] == await version(seeded)
    assert view.page["name"] == "Arabisch Online Leren - Status"  # the new policy's page
    assert view.locale == "nl" and view.page["time_zone"] == "Europe/Amsterdam"


async def test_only_send_subscriber_email_tells_subscribers(seeded: Context) -> None:
    """Seed 004's matrix: the Incident Commander updates the status page but does not
    e-mail subscribers; the Communication Coordinator does both."""
    clock = seeded.clock
    async with seeded.db.write() as session:
        session.add(
            Subscriber(
                kind="email",
                address="reader@example.org",
                components=[],
                created_at=clock.now(),
                confirmed_at=clock.now(),
                generation=1,
            )
        )
    commander = await add_user(seeded, "sp-commander@example.com", roles=("incident-commander",))
    data = PublishIn(
        name="Slow", body="Pages are slow.", components={"web-ui": "degraded_performance"}
    )
    async with seeded.db.write() as session:
        quiet = await service.publish(session, commander, data, clock=clock)
    assert await told(seeded) == []
    with pytest.raises(Forbidden) as refused:
        async with seeded.db.write() as session:
            await service.post_update(
                session,
                commander,
                quiet.public_id,
                UpdateIn(status="identified", body="Found it.", deliver_notifications=True),
                clock=clock,
            )
    assert refused.value.details["permission"] == "send-subscriber-email"
    async with seeded.db.write() as session:
        await service.post_update(
            session,
            await publisher(seeded),
            quiet.public_id,
            UpdateIn(status="resolved", body="Fast again."),
            clock=clock,
        )
    assert await told(seeded) == ["[Music Learning Community Status] Resolved: Slow"]


async def told(ctx: Context) -> list[str]:
    """The subscriber messages queued once the announcements' jobs ran (their own jobs,
    not delivery: the seed's SMTP server is not here)."""
    async with ctx.db.write() as session:
        for job in await jobs.claim(session, "test", clock=ctx.clock, limit=100):
            if job.kind == subscribers.ANNOUNCE:
                await subscribers.announce_update(
                    session, job.payload["update"], job.payload["event"], clock=ctx.clock
                )
            await jobs.complete(session, job, clock=ctx.clock)
    async with ctx.db.read() as session:
        rows = await session.scalars(select(Notification).order_by(Notification.id))
        return [r.subject for r in rows if r.payload["data"]["kind"].startswith("statuspage")]


async def test_a_dutch_page_writes_to_its_subscribers_in_dutch(ctx: Context) -> None:
    await apply_policy(ctx, SEED_000)
    async with ctx.db.write() as session:
        await subscribers.sign_up(
            session,
            SubscribeIn(email="lezer@example.nl", components=["lessen"]),
            client_ip="192.0.2.1",
            limiter=RateLimiter(),
            clock=ctx.clock,
        )
        row = await session.scalar(select(Subscriber))
        assert row is not None
        row.confirmed_at = ctx.clock.now()
        await service.publish(
            session,
            SYSTEM,
            PublishIn(
                name="Lessen laden traag",
                body="We zoeken het uit.",
                components={"lessen": "degraded_performance"},
            ),
            clock=ctx.clock,
        )
    (confirmation, notice) = await told(ctx)
    assert confirmation == "Bevestig je aanmelding voor Arabisch Online Leren - Status"
    assert notice == "[Arabisch Online Leren - Status] In onderzoek: Lessen laden traag"
    async with ctx.db.read() as session:
        body = await session.scalar(select(Notification.body_text).order_by(Notification.id.desc()))
    assert body is not None and "Afmelden: http" in body and "We zoeken het uit." in body
