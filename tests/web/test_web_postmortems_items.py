"""A postmortem's action items edited and closed on its page (through the service: the
owner checked, a due date moved only when it was changed), in Dutch too; restricted
incidents' postmortems and items are hidden from those who may not see the incident."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from tests.conftest import START
from tests.web.web_client import browser, person, signed_in

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import schemas as incident_schemas
from tocsin.incidents import service as incidents
from tocsin.postmortems import actions, service
from tocsin.postmortems.models import ActionItem
from tocsin.postmortems.schemas import ActionItemIn, CreateIn
from tocsin.web.postmortems import strings

LEAD = "tech.lead@example.com"


async def _with_postmortem(ctx: Context, title: str, type_: str | None = None) -> str:
    async with ctx.db.write() as session:
        body = incident_schemas.DeclareIn(title=title, severity="SEV2", type=type_)
        ref = (await incidents.declare(session, SYSTEM, body, clock=ctx.clock)).ref
        await service.create(session, SYSTEM, ref, CreateIn(), clock=ctx.clock)
    return ref


async def _items(ctx: Context, ref: str) -> list[ActionItem]:
    async with ctx.db.read() as session:
        incident = await incidents.get(session, SYSTEM, ref)
        return await actions.items_of(session, incident)


async def test_action_items_added_edited_and_closed_on_the_page(seeded: Context) -> None:
    ref = await _with_postmortem(seeded, "Scores lost")
    due = START + timedelta(days=3, hours=2, minutes=17)  # an instant, as the API takes it
    async with seeded.db.write() as session:
        data = ActionItemIn(title="Pool monitoring", owner="tech.lead", due_at=due)
        await actions.add(session, SYSTEM, ref, data, clock=seeded.clock)
    await person(seeded, LEAD)
    async with browser(seeded) as http:
        csrf = await signed_in(http, LEAD)
        page = (await http.get(f"/postmortems/{ref}")).text
        assert 'name="due_was" value="2026-01-18"' in page  # the organisation's day
        # an edit that leaves the due date alone keeps the instant
        form = {"csrf": csrf, "number": "1", "title": "Pool monitoring and alerts",
                "owner": "tech.lead", "team": "", "priority": "immediate", "due_on": "2026-01-18",
                "due_was": "2026-01-18", "status": "in_progress", "url": "",
                "description": ""}  # fmt: skip
        answer = await http.post(f"/postmortems/{ref}/actions/item", data=form)
        assert answer.status_code == 303 and answer.headers["location"].endswith("#item-1")
        [item] = await _items(seeded, ref)
        assert (item.title, item.priority, item.status) == (
            "Pool monitoring and alerts",
            "immediate",
            "in_progress",
        )
        assert item.due_at == due and item.team == "engineering"
        # a bad link and an unknown owner: the item's own form, open, with what was typed
        bad = {**form, "url": "tracker/OPS-12", "owner": "nobody", "due_on": "2026-01-22"}
        answer = await http.post(f"/postmortems/{ref}/actions/item", data=bad)
        assert answer.status_code == 422
        assert 'id="item-1-url-error"' in answer.text
        assert '<details class="ai-edit" id="item-1" open>' in answer.text
        assert 'value="tracker/OPS-12"' in answer.text and 'value="nobody"' in answer.text
        answer = await http.post(
            f"/postmortems/{ref}/actions/item", data={**bad, "url": "https://t.example/OPS-12"}
        )
        assert answer.status_code == 422
        assert re.search(r'id="item-1-owner-error"[^>]*>.*unknown owner', answer.text)
        assert 'value="https://t.example/OPS-12"' in answer.text
        [item] = await _items(seeded, ref)
        assert item.url is None and item.owner == "tech.lead"
        # a new due date: the end of that business day in the organisation's zone
        moved = {**form, "due_on": "2026-01-22", "url": "https://t.example/OPS-12"}
        assert (await http.post(f"/postmortems/{ref}/actions/item", data=moved)).is_redirect
        # added on the page, then closed
        added = {"csrf": csrf, "title": "Load tests in the release checklist",
                 "owner": "comms@example.com", "team": "", "priority": "",
                 "due_on": "", "url": "", "description": "Before each release"}  # fmt: skip
        answer = await http.post(f"/postmortems/{ref}/actions/item-add", data=added)
        assert answer.status_code == 303 and answer.headers["location"].endswith("#action-items")
        answer = await http.post(
            f"/postmortems/{ref}/actions/item-close",
            data={"csrf": csrf, "number": "2", "status": "done"},
        )
        assert answer.status_code == 303
        page = (await http.get(f"/postmortems/{ref}")).text
        assert "Mark done: " + ref + " #1" in page and "Mark done: " + ref + " #2" not in page
    first, second = await _items(seeded, ref)
    assert first.due_at is not None and first.due_at.astimezone(UTC).date().isoformat() == (
        "2026-01-22"
    )
    assert first.due_at != due and first.url == "https://t.example/OPS-12"
    assert (second.owner, second.team, second.priority) == ("comms", "product", "short-term")
    assert second.status == "done" and second.done_at == seeded.clock.now()
    assert second.due_at is None  # seed 004 sets no default_due


async def test_the_pages_in_dutch(seeded: Context) -> None:
    assert set(strings.EN) == set(strings.NL)
    ref = await _with_postmortem(seeded, "Scores kwijt")
    async with seeded.db.write() as session:
        data = ActionItemIn(
            title="Monitoring", owner="tech.lead", due_at=START + timedelta(hours=1)
        )
        await actions.add(session, SYSTEM, ref, data, clock=seeded.clock)
    seeded.clock.advance(hours=2)  # type: ignore[attr-defined]
    await person(seeded, LEAD)
    async with seeded.db.write() as session:
        user = await auth.get_user(session, LEAD)
        user.locale, user.timezone = "nl", "Europe/Amsterdam"
    async with browser(seeded) as http:
        await signed_in(http, LEAD)
        page = (await http.get(f"/postmortems/{ref}")).text
        assert '<html lang="nl">' in page and "Status wijzigen" in page
        assert "Beoordelaar toevoegen (e-mailadres)" in page and "Actiepunt toevoegen" in page
        page = (await http.get("/action-items")).text
        assert "</span> Te laat</strong>" in page and "Klaar: " + ref + " #1" in page
        page = (await http.get("/postmortems")).text
        assert "Concept" in page and ref in page


async def test_restricted_incidents_postmortems_are_hidden(seeded: Context) -> None:
    secret = await _with_postmortem(seeded, "Leaked export", "data-privacy")
    async with seeded.db.write() as session:
        data = ActionItemIn(title="Rotate keys", owner="tech.lead")
        await actions.add(session, SYSTEM, secret, data, clock=seeded.clock)
    await person(seeded, "ann@example.com")
    await person(seeded, "root@example.com", admin=True)
    async with browser(seeded) as http:
        csrf = await signed_in(http, "ann@example.com")
        assert secret not in (await http.get("/postmortems")).text
        assert "Rotate keys" not in (await http.get("/action-items")).text
        assert (await http.get(f"/postmortems/{secret}")).status_code == 404
        answer = await http.post(
            f"/postmortems/{secret}/actions/section",
            data={"csrf": csrf, "key": "executive-summary", "body": "seen"},
        )
        assert answer.status_code == 404
    async with browser(seeded) as http:
        await signed_in(http, "root@example.com")
        assert secret in (await http.get("/postmortems")).text
        assert "Rotate keys" in (await http.get("/action-items")).text
    async with seeded.db.read() as session:
        _, postmortem = await service.get(session, SYSTEM, secret)
    assert all(s["body"] != "seen" for s in postmortem.sections)


async def test_an_incident_without_a_postmortem_offers_to_create_one(seeded: Context) -> None:
    async with seeded.db.write() as session:
        body = incident_schemas.DeclareIn(title="Slow search", severity="SEV3")
        ref = (await incidents.declare(session, SYSTEM, body, clock=seeded.clock)).ref
    await person(seeded, LEAD)
    async with browser(seeded) as http:
        csrf = await signed_in(http, LEAD)
        page = await http.get(f"/postmortems/{ref}")
        assert page.status_code == 200 and "This incident has no postmortem yet." in page.text
        assert f'action="/postmortems/{ref}/actions/create"' in page.text
        answer = await http.post(
            f"/postmortems/{ref}/actions/create", data={"csrf": csrf, "template": "nope"}
        )
        assert answer.status_code == 422
        assert re.search(r'id="pm-template-error"[^>]*>.*nope', answer.text)
        answer = await http.post(
            f"/postmortems/{ref}/actions/create", data={"csrf": csrf, "template": ""}
        )
        assert answer.status_code == 303 and answer.headers["location"].endswith("#document")
        page = (await http.get(f"/postmortems/{ref}")).text
        assert '<label for="sec-executive-summary">Executive Summary</label>' in page
        assert (await http.get("/postmortems/INC-1999-01-01-001")).status_code == 404
    async with seeded.db.read() as session:
        _, postmortem = await service.get(session, SYSTEM, ref)
    assert postmortem.status == "draft" and postmortem.template == "post-mortem"
