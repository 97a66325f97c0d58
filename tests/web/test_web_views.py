"""The console's views as plain functions (no HTTP): what a page gets to render, in the
viewer's language and time zone; and the two languages' words."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.jobs.registry import load_handlers
from tocsin.policy import service as policies
from tocsin.simulate.runner import run_until
from tocsin.web import session as sessions
from tocsin.web import views
from tocsin.web.render import html
from tocsin.web.strings import EN, NL, Words
from tocsin.web.viewer import Viewer, may, viewer_of


def test_both_languages_have_every_word() -> None:
    assert set(EN) == set(NL)


def test_sla_words() -> None:
    en, nl = Words("en", "UTC"), Words("nl", "UTC")
    assert en.sla("pending", 300) == "due in 5m" and nl.sla("pending", 300) == "nog 5m"
    assert en.sla("breached", 90) == "breached by 1m30s"
    assert en.sla("met", 60) == "met, 1m to spare" and en.sla("pending", None) == "waiting"


async def _viewer(ctx: Context, email: str, *, locale: str | None, zone: str | None) -> Viewer:
    async with ctx.db.write() as session:
        user = await auth.create_user(session, SYSTEM, email, clock=ctx.clock)
        user.locale, user.timezone = locale, zone
        web = sessions.WebSession(user, auth.actor_for(user), 0, "token")
        return viewer_of(web, await policies.current_policy(session))


async def test_the_room_in_dutch_in_the_viewers_zone(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    async with seeded.db.write() as session:
        body = schemas.DeclareIn(title="Betalingen mislukken", severity="SEV1", type="outage")
        ref = (await incidents.declare(session, SYSTEM, body, clock=clock)).ref
    viewer = await _viewer(seeded, "nl@example.com", locale="nl", zone="Europe/Amsterdam")
    async with seeded.db.read() as session:
        data = await views.room(session, viewer, ref, clock=clock, show=["status"])
    assert data["incident"].id == ref and data["next_statuses"] == [
        "identified",
        "monitoring",
        "resolved",
    ]
    assert {kind for kind in data["show"]} == {"status"}
    assert [e.kind for e in data["events"]] == ["declared"]
    assert data["can"] == {"declare", "add-note"}  # everyone's, nothing more
    page = html("room.html", {**data, "errors": {}, "action": "", "typed": {}, "preview": None,
                              "sent": None, "drafted": None}, words=viewer.words, viewer=viewer).body.decode()  # fmt: skip
    assert '<html lang="nl">' in page and "Tijden in Europe/Amsterdam" in page
    assert "10:00:00 CET" in page  # 09:00 UTC in Amsterdam in January
    assert "Bevestigen" in page and "nog 5m" in page


async def test_the_list_view_orders_and_says_what_the_viewer_may_do(seeded: Context) -> None:
    clock = seeded.clock
    async with seeded.db.write() as session:
        for title, severity in (("Small", "SEV4"), ("Big", "SEV1"), ("Middle", "SEV2")):
            await incidents.declare(
                session, SYSTEM, schemas.DeclareIn(title=title, severity=severity), clock=clock
            )
    viewer = await _viewer(seeded, "en@example.com", locale=None, zone=None)
    async with seeded.db.read() as session:
        data = await views.incident_list(session, viewer, views.ListFilters(), clock=clock)
        policy = await policies.current_policy(session)
    assert [i.title for i in data["incidents"]] == ["Big", "Middle", "Small"]
    assert data["can_declare"] and data["commander"] == "incident-commander"
    assert viewer.words.locale == "en" and viewer.words.zone == "UTC"  # the policy's
    assert may(policy, SYSTEM) >= {"acknowledge", "send-communications"}  # admin


async def test_the_room_tells_who_was_paged_and_who_is_next(seeded: Context) -> None:
    load_handlers()
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    async with seeded.db.write() as session:
        body = schemas.DeclareIn(title="All down", severity="SEV1", type="outage")
        ref = (await incidents.declare(session, SYSTEM, body, clock=clock)).ref
    await run_until(seeded.db, clock, clock.now() + timedelta(minutes=1))
    viewer = await _viewer(seeded, "en@example.com", locale=None, zone=None)
    async with seeded.db.read() as session:
        data = await views.room(session, viewer, ref, clock=clock)
    assert data["paged"] and all(e.kind == "page" for e in data["paged"])
    assert data["next_step"] is not None and data["next_step"].due_at > clock.now()
    page = html("room.html", {**data, "errors": {}, "action": "", "typed": {}, "preview": None,
                              "sent": None, "drafted": None}, words=viewer.words, viewer=viewer).body.decode()  # fmt: skip
    assert "Paged so far" in page and data["paged"][0].summary in page
    assert "Next: " in page


async def _declare_many(ctx: Context, count: int, lead: str) -> None:
    """``count`` incidents, each with a commander, components and a team."""
    async with ctx.db.write() as session:
        for n in range(count):
            body = schemas.DeclareIn(
                title=f"Incident {n}",
                severity=("SEV2", "SEV3", "SEV4")[n % 3],
                components=["api", "web-ui"][: 1 + n % 2],
                team="platform" if n % 2 else "payments",
            )
            ref = (await incidents.declare(session, SYSTEM, body, clock=ctx.clock)).ref
            await incidents.assign_role(
                session, SYSTEM, ref, "incident-commander", lead, clock=ctx.clock
            )


async def _statements(ctx: Context, viewer: Viewer) -> tuple[int, int]:
    """How many statements the list view runs, and how many incidents it shows."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = ctx.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with ctx.db.read() as session:
            data = await views.incident_list(session, viewer, views.ListFilters(), clock=ctx.clock)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), len(data["incidents"])


async def test_the_list_takes_as_many_queries_for_50_incidents_as_for_5(seeded: Context) -> None:
    """Commanders, components, alerts and SLA clocks of every row are loaded together:
    no query per row."""
    lead = "lead@example.com"
    viewer = await _viewer(seeded, lead, locale=None, zone=None)
    await _declare_many(seeded, 5, lead)
    few, shown = await _statements(seeded, viewer)
    assert shown == 5
    await _declare_many(seeded, 45, lead)
    many, shown = await _statements(seeded, viewer)
    assert shown == 50
    assert few == many
    async with seeded.db.read() as session:
        data = await views.incident_list(
            session, viewer, views.ListFilters(team=["platform"]), clock=seeded.clock
        )
    assert len(data["incidents"]) == 24 and data["total"] == 24  # 2 of the 5, 22 of the 45
    assert all(i.team == "platform" for i in data["incidents"])
    assert all([r.email for r in i.roles] == [lead] for i in data["incidents"])
    assert ("platform", "platform") in data["teams"]
